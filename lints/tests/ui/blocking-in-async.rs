use std::fs;
use std::thread::sleep;

async fn positives(rx: std::sync::mpsc::Receiver<u8>) {
    std::thread::sleep(D);
    sleep(D);
    let text = fs::read_to_string("config.toml").unwrap();
    let file = std::fs::File::open("x").unwrap();
    let v = rx.recv().unwrap();
    let body = reqwest::blocking::get(URL);
    let stream = std::net::TcpStream::connect(ADDR);
    let task = async {
        std::thread::sleep(D);
    };
}

async fn negatives(cx: &Cx, rx: &mut Receiver<u8>) {
    asupersync::time::sleep(cx, D).await;
    let v = rx.recv().await;
    let w = rx.recv(cx).await;
    let options = std::fs::OpenOptions::new();
    asupersync::task::spawn_blocking(cx, || std::fs::read("x")).await;
    let s = "std::thread::sleep(D)";
    // std::thread::sleep(D);
}

fn sync_code() {
    std::thread::sleep(D);
    let text = fs::read_to_string("config.toml");
}

async fn suppressed() {
    // asupersync: allow(blocking-in-async) -- startup only, before the runtime serves
    std::thread::sleep(D);
}

async fn receive_shapes(rx: std::sync::mpsc::Receiver<u8>, arx: &mut Receiver<u8>, m: &tokio::sync::Mutex<u8>) {
    let a = rx.recv()?;
    if let Ok(b) = rx.recv_timeout(D) {}
    while let Ok(c) = rx.recv() {}
    let Ok(d) = rx.recv() else { return };
    let e = arx.blocking_recv();
    let f = m.blocking_lock();
    // A future passed on, or an awaited Option: not blocking.
    let g = within(arx.recv()).await;
    let h = arx.recv().await.unwrap();
    if let Some(i) = arx.recv().await {}
}
