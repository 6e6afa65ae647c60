//! The accept loop: every connection has a deadline for its request headers and one for
//! doing nothing at all, and there are never more open connections than the process has
//! files for.
//!
//! `axum::serve` has neither: a client that opens connections and sends nothing, or
//! half a request, keeps each one forever, and enough of them use up the open-file
//! limit so that nobody else is accepted. Here hyper's header-read timeout covers slow
//! and idle request heads from the first byte (it also runs while a kept-alive
//! connection waits for its next request), an idle timer closes connections on which
//! nothing has moved either way (a client that stops reading its answer), and a
//! semaphore caps open connections below the open-file limit: past the cap, new
//! connections wait in the kernel's accept queue until a slot frees, instead of failing
//! `accept`. One client address may hold only so many of them (trusted proxies, which
//! carry everyone's connections, excepted), so a single host cannot take every slot.
//!
//! HTTP/1.1 only. Browsers speak HTTP/2 only over TLS, which a proxy in front of this
//! server terminates; cleartext HTTP/2 would need hyper-util's protocol sniffing, which
//! waits for the client's first bytes outside any header deadline.

use crate::config::ConnectionLimits;
use app::client::{counted_as, TrustedProxies};
use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    time::Instant,
};
use tower::ServiceExt;

/// Files kept free for everything that is not a client connection: the database pool,
/// SQLite's journal files, logs, the runtime's own descriptors.
const RESERVED_FILES: u64 = 128;

/// Serves `router` on `listener` until `shutdown` completes, then lets the requests in
/// flight finish (for at most the request timeout and five seconds).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    trusted_proxies: TrustedProxies,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let max_connections = limits
        .max_connections
        .unwrap_or_else(|| default_max_connections(raise_open_file_limit()));
    tracing::info!(
        max_connections,
        header_read_timeout = ?limits.header_read_timeout,
        idle_timeout = ?limits.idle_timeout,
        "accepting connections"
    );
    let slots = Arc::new(Semaphore::new(max_connections));
    let per_client = PerClient::new(limits.max_connections_per_client);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    wait_after_accept_error(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(client_slot) = per_client.take(peer.ip(), &trusted_proxies) else {
            per_client.warn_refused(peer);
            continue;
        };
        let activity = Activity::new();
        let io = TokioIo::new(Tracked {
            stream,
            activity: activity.clone(),
        });
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        let idle_timeout = limits.idle_timeout;
        tokio::spawn(async move {
            tokio::select! {
                served = connection => {
                    if let Err(e) = served {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                () = activity.idle_for(idle_timeout) => {
                    tracing::debug!(%peer, "idle connection closed");
                }
            }
            drop((slot, client_slot));
        });
    }
    drop(listener);
    // In-flight requests finish; past the request timeout and a little more, whatever is
    // left (a client that stopped reading, say) is dropped rather than waited on.
    let grace = limits.request_timeout + Duration::from_secs(5);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(?grace, "connections still open at shutdown were dropped");
    }
    Ok(())
}

/// Connection errors concern one client and are simply skipped. Anything else (out of
/// files, out of memory) is logged, and the loop pauses so it does not spin.
async fn wait_after_accept_error(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// As many connections as the open-file limit leaves room for, keeping some files free.
fn default_max_connections(open_file_limit: u64) -> usize {
    let room = open_file_limit.saturating_sub(RESERVED_FILES).max(16);
    usize::try_from(room.min(100_000)).unwrap_or(100_000)
}

/// Raises the soft open-file limit to the hard one (a login shell's soft limit is often
/// 1024, far below what a server may use) and answers the limit then in force.
fn raise_open_file_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// How many connections each client holds (an IPv6 client counted by its /56).
struct PerClient {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    /// When a refusal was last logged (ms since `started`): at most one line per 10 s.
    last_warning: AtomicU64,
    started: Instant,
}

/// One connection of `address`, counted until dropped.
struct ClientSlot {
    address: Option<IpAddr>,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl PerClient {
    fn new(max: usize) -> Self {
        Self {
            max,
            open: Arc::new(Mutex::new(HashMap::new())),
            last_warning: AtomicU64::new(0),
            started: Instant::now(),
        }
    }

    /// Says that a client was refused, so a proxy missing from `TRUSTED_PROXIES` (whose
    /// clients all share its share) is noticed; at most once every 10 s.
    fn warn_refused(&self, peer: SocketAddr) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_warning.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= 10_000)
            && self
                .last_warning
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                %peer,
                max = self.max,
                "refused a connection: this client holds MAX_CONNECTIONS_PER_CLIENT already \
                 (if it is a proxy, list it in TRUSTED_PROXIES)"
            );
        }
    }

    /// A slot for another connection from `address`, or `None` when it holds the most
    /// it may. Trusted proxies are not counted.
    fn take(&self, address: IpAddr, trusted: &TrustedProxies) -> Option<ClientSlot> {
        if trusted.trusts(address) {
            return Some(ClientSlot {
                address: None,
                open: self.open.clone(),
            });
        }
        let address = counted_as(address);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(ClientSlot {
            address: Some(address),
            open: self.open.clone(),
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let Some(address) = self.address else {
            return;
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&address);
            }
        }
    }
}

/// When a connection last read or wrote a byte.
#[derive(Clone)]
struct Activity {
    start: Instant,
    last_millis: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_millis: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let millis = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    /// Completes once nothing has moved for `limit`.
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
            let deadline = last + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A TCP stream that records its activity.
struct Tracked {
    stream: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::{default_max_connections, PerClient, TrustedProxies};

    #[test]
    fn one_client_holds_at_most_its_share_and_proxies_are_not_counted() {
        let per_client = PerClient::new(2);
        let proxies = TrustedProxies::parse("10.0.0.5", Default::default()).unwrap();
        let client = "203.0.113.9".parse().unwrap();
        let first = per_client.take(client, &proxies).unwrap();
        let _second = per_client.take(client, &proxies).unwrap();
        assert!(per_client.take(client, &proxies).is_none());
        let same_subscriber = "2001:db8:1:200::1".parse().unwrap();
        let _v6 = per_client.take(same_subscriber, &proxies).unwrap();
        let _v6_again = per_client.take("2001:db8:1:2ff::9".parse().unwrap(), &proxies);
        assert!(
            per_client.take(same_subscriber, &proxies).is_none(),
            "one /56 is one client"
        );
        drop(first);
        assert!(per_client.take(client, &proxies).is_some());
        let proxy = "10.0.0.5".parse().unwrap();
        let through_proxy: Vec<_> = (0..5).map(|_| per_client.take(proxy, &proxies)).collect();
        assert!(through_proxy.iter().all(Option::is_some));
    }

    #[test]
    fn connections_leave_files_for_the_rest_of_the_process() {
        assert_eq!(default_max_connections(1024), 896);
        assert_eq!(default_max_connections(256), 128);
        assert_eq!(default_max_connections(64), 16);
        assert_eq!(default_max_connections(1 << 20), 100_000);
    }
}
