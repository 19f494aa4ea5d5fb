//! Shared test helpers (the `serve!` macro).
// Included by the actix integration tests.

/// Starts an actix-web `HttpServer` (one worker, 127.0.0.1, ephemeral port) on its own thread
/// and returns its address.
#[macro_export]
macro_rules! serve {
    ($factory:expr) => {{
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new($factory)
                    .workers(1)
                    .bind(("127.0.0.1", 0))
                    .unwrap();
                tx.send(server.addrs()[0]).unwrap();
                server.run().await.unwrap();
            })
        });
        rx.recv().unwrap()
    }};
}
