use asupersync::Cx;
use asupersync::Cx as Context;

fn positives() {
    let cx = Cx::for_testing();
    let cx = Context::for_request();
    let cx = asupersync::Cx::current();
    let cx = maybe.unwrap_or_else(Cx::current);
}

fn negatives() {
    let other = Other::for_testing();
    let s = "Cx::for_testing()";
    // Cx::for_testing()
    let cx = Cx::new_child();
}

#[test]
fn unit_test() {
    let cx = Cx::for_testing();
}

#[asupersync::test]
async fn async_test() {
    let cx = Cx::for_testing();
}

#[cfg(test)]
mod tests {
    fn helper() -> Cx {
        Cx::for_testing()
    }
}

#[cfg(not(test))]
fn production() {
    let cx = Cx::current();
}

fn suppressed() {
    // asupersync: allow(ambient-cx) -- the FFI entry point has no caller context
    let cx = Cx::for_request();
}
