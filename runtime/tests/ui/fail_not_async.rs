#[asupersync::main]
fn main() {}
