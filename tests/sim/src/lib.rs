//! The KSeF simulator library.
