#[asupersync::main]
async fn main() {
    println!("plain main");
}
