//! The emulator embedded in another program, on its own thread and runtime (`start`,
//! `start_on`) or on the caller's (`start_in`), the same from synchronous or async code. It
//! only serves and stops `app`; it never answers a request itself.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
use crate::routes::app;

/// How long open connections get to finish after the handle is dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running emulator. Dropping it stops the server and joins its thread (if it has one).
pub struct Emulator {
    addr: SocketAddr,
    config: Config,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Emulator {
    /// Serves on a free port of 127.0.0.1.
    pub fn start(config: Config) -> io::Result<Emulator> {
        Emulator::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config)
    }

    /// Serves on `addr`. Returns once the socket is listening, so connections made right
    /// after it returns are accepted (the kernel queues them until the server takes them).
    pub fn start_on(addr: SocketAddr, config: Config) -> io::Result<Emulator> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("csr-emulator")
            .enable_all()
            .build()?;
        let router = app(config.clone());
        let (stop, stopped) = watch::channel(false);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();

        let thread = std::thread::Builder::new()
            .name("csr-emulator".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => {
                            let _ = ready_tx.send(Ok(()));
                            l
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    serve(listener, router, stopped).await;
                });
                runtime.shutdown_timeout(Duration::from_millis(500));
            })?;

        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Emulator {
                addr,
                config,
                stop: Some(stop),
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(io::Error::other("emulator thread ended before serving"))
            }
        }
    }

    /// Serves on a free port of 127.0.0.1 from `runtime`, a multi-thread runtime the caller
    /// already has (its own HTTP client's, say): no threads of its own, and a request from that
    /// client is answered on the same workers instead of waking another runtime's. It serves
    /// until the handle is dropped or the runtime shuts down.
    pub fn start_in(runtime: &tokio::runtime::Handle, config: Config) -> io::Result<Emulator> {
        let listener = std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let (stop, stopped) = watch::channel(false);
        runtime.spawn(serve(listener, app(config.clone()), stopped));
        Ok(Emulator {
            addr,
            config,
            stop: Some(stop),
            thread: None,
        })
    }

    /// The base URL SDKs use, e.g. `http://127.0.0.1:PORT/client/v4`.
    pub fn base_url(&self) -> String {
        format!("{}/client/v4", self.root_url())
    }

    /// The same routes without the `/client/v4` prefix, e.g. for `TEST_API_BASE_URL`.
    pub fn root_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            });
        }
        format!("http://{addr}")
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration it runs with, including the credentials callers should send.
    pub fn config(&self) -> &Config {
        &self.config
    }
}

/// Serves `router` on `listener` until `stopped` says stop (or its sender is dropped), then
/// gives open connections [`SHUTDOWN_GRACE`] to finish.
async fn serve(
    listener: tokio::net::TcpListener,
    router: crate::routes::App,
    mut stopped: watch::Receiver<bool>,
) {
    let mut graceful = stopped.clone();
    let serve =
        axum::serve(listener, router.into_make_service()).with_graceful_shutdown(async move {
            // A dropped sender counts as "stop" too.
            let _ = graceful.wait_for(|stop| *stop).await;
        });
    // Graceful shutdown waits for clients; a client that never hangs up must not keep the
    // caller's drop waiting forever.
    let deadline = async move {
        let _ = stopped.wait_for(|stop| *stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        _ = serve => {}
        _ = deadline => {}
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately not the config: it holds credentials.
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .finish()
    }
}
