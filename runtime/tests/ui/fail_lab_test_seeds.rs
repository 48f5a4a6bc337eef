#[asupersync::lab_test(seeds = 500)]
async fn explores() {}

fn main() {}
