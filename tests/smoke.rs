use harness::check::{Check, FailureKind};
use harness::{chan, task};

fn fan_in() -> Check {
    Check::new("x")
}

#[test]
fn pass_all() {
    let r = fan_in()
        .loom()
        .shuttle(50)
        .pct(50, 3)
        .tokio(2)
        .run(|| async {
            let (tx, rx) = chan::bounded(0);
            for i in 0..3u32 {
                let tx = tx.clone();
                task::spawn(async move { tx.send(i).await.unwrap() });
            }
            drop(tx);
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            assert_eq!(sum, 3);
        });
    println!("{r:?}");
    r.unwrap();
}

fn leaky() -> impl Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> + Send + Sync {
    || {
        Box::pin(async {
            let (tx, rx) = chan::bounded::<u32>(0);
            for i in 0..2u32 {
                let tx = tx.clone();
                task::spawn_named(format!("resp-{i}"), async move {
                    let _ = tx.send(i).await;
                });
            }
            let _ = rx.recv().await;
            std::mem::forget(rx);
        })
    }
}

#[test]
fn leak_each() {
    for c in [
        Check::new("leak").loom(),
        Check::new("leak").shuttle(100),
        Check::new("leak").pct(100, 3),
        Check::new("leak").tokio(1),
    ] {
        let f = c.run(leaky()).unwrap_err();
        println!("{f}");
        assert_eq!(f.kind, FailureKind::Leak);
        if let Some(t) = &f.replay {
            let g = Check::new("leak").replay(t).run(leaky()).unwrap_err();
            assert_eq!(g.kind, FailureKind::Leak);
            println!("replayed: {}", g.report.lines().nth(1).unwrap());
        }
    }
}

#[test]
fn deadlock_and_panic() {
    let f = Check::new("dl")
        .shuttle(10)
        .run(|| async {
            let (atx, arx) = chan::bounded::<u8>(0);
            let (btx, brx) = chan::bounded::<u8>(0);
            let a = task::spawn_named("A", async move {
                brx.recv().await;
                atx.send(1).await.ok();
            });
            let b = task::spawn_named("B", async move {
                arx.recv().await;
                btx.send(1).await.ok();
            });
            a.await.unwrap();
            b.await.unwrap();
        })
        .unwrap_err();
    println!("{f}");
    assert_eq!(f.kind, FailureKind::Deadlock);
    for c in [
        Check::new("p").loom(),
        Check::new("p").shuttle(10),
        Check::new("p").tokio(1),
    ] {
        let f = c
            .run(|| async {
                task::spawn_named("boom", async { panic!("kaboom") });
            })
            .unwrap_err();
        println!("{f}");
        assert_eq!(f.kind, FailureKind::Panic);
    }
}
