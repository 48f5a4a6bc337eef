#[asupersync::test]
async fn takes_a_number(n: u32) {
    let _ = n;
}

fn main() {}
