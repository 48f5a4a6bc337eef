use asupersync::Cx;

fn broken(cx: &Cx) {
    let x = ;
}
