#[asupersync::test]
async fn cx_second(n: u32, cx: &asupersync::Cx) {
    let _ = (n, cx);
}

fn main() {}
