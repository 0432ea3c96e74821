use leakproof::check::Check;

#[test]
fn squares_leak_free() {
    Check::new("squares")
        .run(|| async {
            assert_eq!(my_crate::squares(vec![0, 3]).await, vec![9]);
        })
        .unwrap(); // Err(Failure): kind, checker, report, replay token
}
