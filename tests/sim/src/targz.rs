//! `TarGz` packages (open-api 2.6.0 `CompressionType`): a POSIX ustar archive in a gzip
//! stream (RFC 1952). The deflate data uses stored blocks (RFC 1951 §3.2.4): every
//! `tar`/`gzip`/SDK reader takes it, and the simulator needs no compressor. Real KSeF
//! compresses; sizes here are therefore larger than KSeF's, the format is the same.

/// CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320) as gzip's trailer needs.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for b in data {
        c = CRC_TABLE[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

/// A ustar archive of `(name, content)` entries (names under 100 bytes).
pub fn tar(entries: &[(String, &[u8])], mtime: i64) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in entries {
        let mut h = [0u8; 512];
        let name = name.as_bytes();
        let n = name.len().min(99);
        h[..n].copy_from_slice(&name[..n]);
        let octal = |field: &mut [u8], value: u64| {
            let text = format!("{:0width$o}", value, width = field.len() - 1);
            field[..text.len()].copy_from_slice(text.as_bytes());
        };
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], data.len() as u64);
        octal(&mut h[136..148], mtime.max(0) as u64);
        h[148..156].copy_from_slice(b"        ");
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        let text = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(text.as_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    // End of archive: two zero blocks.
    out.resize(out.len() + 1024, 0);
    out
}

/// A gzip member holding `data` in stored deflate blocks.
pub fn gzip(data: &[u8], mtime: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65535 * 5 + 32);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0]);
    out.extend_from_slice(&(mtime.clamp(0, i64::from(u32::MAX)) as u32).to_le_bytes());
    out.extend_from_slice(&[0, 255]);
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Reads back what [`tar`] + [`gzip`] wrote (tests and self-checks): `(name, content)`.
pub fn read(targz: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if targz.len() < 18 || targz[..3] != [0x1f, 0x8b, 8] || targz[3] != 0 {
        return None;
    }
    let mut pos = 10;
    let mut tar = Vec::new();
    loop {
        let last = *targz.get(pos)? & 1 == 1;
        let len = u16::from_le_bytes([*targz.get(pos + 1)?, *targz.get(pos + 2)?]) as usize;
        pos += 5;
        tar.extend_from_slice(targz.get(pos..pos + len)?);
        pos += len;
        if last {
            break;
        }
    }
    let crc = u32::from_le_bytes(targz.get(pos..pos + 4)?.try_into().ok()?);
    if crc != crc32(&tar) {
        return None;
    }
    let mut entries = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let name_end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8(h[..name_end].to_vec()).ok()?;
        let size_text = std::str::from_utf8(&h[124..135]).ok()?;
        let size = usize::from_str_radix(size_text.trim_matches(char::from(0)).trim(), 8).ok()?;
        at += 512;
        entries.push((name, tar.get(at..at + size)?.to_vec()));
        at += size.div_ceil(512) * 512;
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn gzip_tar_round_trips_beyond_one_stored_block() {
        let big = vec![b'x'; 70_000];
        let entries = vec![
            ("a.xml".to_string(), &b"<a/>"[..]),
            ("_metadata.json".to_string(), &big[..]),
        ];
        let packed = gzip(&tar(&entries, 1_700_000_000), 1_700_000_000);
        let back = read(&packed).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].0, "a.xml");
        assert_eq!(back[1].1.len(), 70_000);
    }
}
