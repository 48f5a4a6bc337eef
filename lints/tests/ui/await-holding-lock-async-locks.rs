// A file that names only asupersync's locks: their guards may cross an await, and
// their `try_` forms take no argument like std's do.
use asupersync::sync::{Mutex, RwLock};
use asupersync::Cx;

async fn readers(cx: &Cx, lock: &RwLock<u32>, counter: &Mutex<u32>) {
    let first = lock.read(cx).await.unwrap();
    let second = lock.try_read().unwrap();
    settle(cx).await;
    let mut count = counter.try_lock().unwrap();
    *count += *first + *second;
    settle(cx).await;
}
