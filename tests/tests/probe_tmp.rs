#[test]
fn probe() {
    trybuild::TestCases::new().pass("ui/probe/*.rs");
}
