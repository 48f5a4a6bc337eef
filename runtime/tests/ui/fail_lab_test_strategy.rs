#[asupersync::lab_test(seeds = 0..10, strategy = "dfs")]
async fn explores(cx: &asupersync::Cx) {
    let _ = cx;
}

fn main() {}
