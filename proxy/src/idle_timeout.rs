//! The upstream response body, abandoned when it stalls for longer than
//! `--idle-timeout` (a transfer that started but stopped sending).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use hyper::body::{Frame, SizeHint};

/// The response body stalled for longer than `--idle-timeout`.
#[derive(Debug)]
pub(crate) struct IdleTimeoutElapsed;

impl std::fmt::Display for IdleTimeoutElapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("upstream body transfer stalled")
    }
}

impl std::error::Error for IdleTimeoutElapsed {}

/// The upstream response body, abandoned when no data arrives for `timeout`. The
/// timer is only armed when the body is actually waiting, so a small answer that came
/// with its headers costs nothing.
pub(crate) struct IdleTimeout<B> {
    inner: B,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

impl<B> IdleTimeout<B> {
    pub(crate) fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            sleep: None,
            armed: false,
        }
    }
}

impl<B> hyper::body::Body for IdleTimeout<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.armed = false;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let deadline = tokio::time::Instant::now() + this.timeout;
        let sleep = match &mut this.sleep {
            Some(sleep) => {
                if !this.armed {
                    sleep.as_mut().reset(deadline);
                }
                sleep
            }
            None => this
                .sleep
                .insert(Box::pin(tokio::time::sleep_until(deadline))),
        };
        this.armed = true;
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(IdleTimeoutElapsed)))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
