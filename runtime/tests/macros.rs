//! The entry-point attributes.

use std::time::Duration;

use asupersync::{time, Cx, Outcome, Region};

#[asupersync::test]
async fn test_attribute_without_cx() {
    assert_eq!(1 + 1, 2);
}

#[asupersync::test]
async fn test_attribute_with_cx(cx: &Cx) {
    time::sleep(cx, Duration::from_millis(1)).await.unwrap();
    let outcome = Region::open(cx, "in-test", |cx| async move {
        cx.spawn(|_| async { 5 }).join(&cx).await
    })
    .await;
    assert_eq!(outcome.unwrap(), Outcome::Ok(5));
}

#[asupersync::test]
async fn test_attribute_returning_result(cx: &Cx) -> Result<(), std::io::Error> {
    time::sleep(cx, Duration::from_millis(1)).await?;
    Ok(())
}

#[asupersync::test]
#[should_panic(expected = "inside the test body")]
async fn test_attribute_reraises_panics() {
    panic!("inside the test body");
}

#[test]
fn misuse_is_a_compile_error_with_a_fix() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
