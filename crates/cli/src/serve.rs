//! `silkmatch serve`: the HTTP API on the data directory, with graceful shutdown on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use silkmatch_http::{App, Config};
use silkmatch_index::Engine;

/// Serves `engine` on `addr` until SIGINT or SIGTERM; requests in flight finish and queued writes are
/// committed before it returns.
pub fn run(engine: Engine, addr: SocketAddr, secure_cookies: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        let config = Config {
            secure_cookies,
            ..Config::default()
        };
        let app = App::new(engine, config).context("cannot start the server's workers")?;
        let stop_embedding = Arc::new(AtomicBool::new(false));
        let embedding = match app.engine().embedder() {
            Some(_) => Some(
                crate::meaning::spawn_worker(Arc::clone(app.engine()), Arc::clone(&stop_embedding))
                    .context("cannot start the embedding worker")?,
            ),
            None => None,
        };
        println!("silkmatch is serving on http://{local}  (web pages at http://{local}/ , API at http://{local}/v1/search?q=solar ; Ctrl-C stops)");
        silkmatch_http::serve(listener, app, shutdown_signal()).await.context("the server failed")?;
        stop_embedding.store(true, Ordering::Relaxed);
        if let Some(worker) = embedding {
            let _ = worker.join();
        }
        eprintln!("stopped: requests drained, writes committed");
        Ok(ExitCode::SUCCESS)
    })
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
