//@ extern: rt=tokio
use tokio::sync::{mpsc, Mutex};
use hyper::server::conn::http1;

#[tokio::main]
async fn main() {
    let (tx, _rx) = mpsc::channel::<u8>(8);
    rt::spawn(async move { drop(tx) });
    tokio::select! {
        _ = ::tokio::time::sleep(DELAY) => {}
    }
}

// Negatives: comments, strings, docs, local items named like the crates.
// tokio::spawn(async {});
/// Call `tokio::spawn` here.
fn strings() -> &'static str {
    "use tokio::net::TcpStream; tokio::spawn"
}
mod smol {
    pub fn spawn() {}
}
fn local_module() {
    smol::spawn();
}

// asupersync: allow(tokio-outside-quarantine) -- bridged through compat in the next release
use tokio::net::TcpStream;
