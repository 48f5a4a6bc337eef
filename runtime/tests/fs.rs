//! The file system module, on the blocking pool, in a temporary directory.

mod common;

use std::io::{ErrorKind, SeekFrom};

use asupersync::fs::{self, File, OpenOptions};
use asupersync::io::{AsyncBufReadExt, AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufReader};
use asupersync::{CancelKind, CancelReason};
use common::{on_each_flavor, pending_once};

#[test]
fn write_read_metadata_rename_remove_round_trip() {
    on_each_flavor(|cx| async move {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/c");
        fs::create_dir_all(&cx, &nested).await.unwrap();
        assert!(fs::metadata(&cx, &nested).await.unwrap().is_dir());

        let file = nested.join("data.txt");
        fs::write(&cx, &file, "hello, fs").await.unwrap();
        assert_eq!(fs::read(&cx, &file).await.unwrap(), b"hello, fs");
        assert_eq!(fs::read_to_string(&cx, &file).await.unwrap(), "hello, fs");
        assert_eq!(fs::metadata(&cx, &file).await.unwrap().len(), 9);

        let renamed = nested.join("renamed.txt");
        fs::rename(&cx, &file, &renamed).await.unwrap();
        assert!(!fs::try_exists(&cx, &file).await.unwrap());
        assert!(fs::try_exists(&cx, &renamed).await.unwrap());

        fs::write(&cx, nested.join("second"), b"2").await.unwrap();
        let mut names = Vec::new();
        let mut entries = fs::read_dir(&cx, &nested).await.unwrap();
        while let Some(entry) = entries.next_entry(&cx).await.unwrap() {
            assert!(entry.file_type(&cx).await.unwrap().is_file());
            names.push(entry.file_name().into_string().unwrap());
        }
        names.sort();
        assert_eq!(names, ["renamed.txt", "second"]);

        fs::remove_file(&cx, &renamed).await.unwrap();
        let err = fs::read(&cx, &renamed).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    });
}

#[test]
fn file_write_then_read_back_with_seek_and_lines() {
    on_each_flavor(|cx| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.txt");
        let mut file = File::create(&cx, &path).await.unwrap();
        for i in 0..1000 {
            file.write_all(&cx, format!("line {i}\n").as_bytes())
                .await
                .unwrap();
        }
        file.flush(&cx).await.unwrap();
        file.sync_all(&cx).await.unwrap();
        drop(file);

        let file = File::open(&cx, &path).await.unwrap();
        let mut lines = BufReader::new(file).lines();
        let mut count = 0;
        while let Some(line) = lines.next_line(&cx).await.unwrap() {
            assert_eq!(line, format!("line {count}"));
            count += 1;
        }
        assert_eq!(count, 1000);

        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&cx, &path)
            .await
            .unwrap();
        let mut head = [0u8; 6];
        file.read_exact(&cx, &mut head).await.unwrap();
        assert_eq!(&head, b"line 0");
        // A write after a read lands right after what was read, despite read-ahead.
        file.write_all(&cx, b"X").await.unwrap();
        file.flush(&cx).await.unwrap();
        assert_eq!(file.seek(&cx, SeekFrom::Start(0)).await.unwrap(), 0);
        let mut start = [0u8; 9];
        file.read_exact(&cx, &mut start).await.unwrap();
        assert_eq!(&start, b"line 0Xli");
        let len = file.metadata(&cx).await.unwrap().len();
        let mut rest = Vec::new();
        file.read_to_end(&cx, &mut rest).await.unwrap();
        assert_eq!(rest.len() as u64, len - 9);
    });
}

#[test]
fn a_cancelled_caller_gets_interrupted_before_the_call_starts() {
    on_each_flavor(|cx| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("never");
        let task = cx.spawn(move |cx| async move {
            // Ignore the cancel until it has arrived, then try to write.
            while !cx.is_cancel_requested() {
                pending_once().await;
            }
            fs::write(&cx, &path, b"x").await
        });
        pending_once().await;
        task.cancel(CancelReason::new(CancelKind::User));
        match task.join(&cx).await {
            asupersync::Outcome::Ok(result) => {
                assert_eq!(result.unwrap_err().kind(), ErrorKind::Interrupted);
            }
            asupersync::Outcome::Cancelled(_) => {}
            other => panic!("unexpected {:?}", other.map(|_| ())),
        }
        assert!(
            !dir.path().join("never").exists(),
            "a cancelled write did not start"
        );
    });
}

#[test]
fn file_system_calls_work_in_a_finalizer() {
    on_each_flavor(|cx| async move {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cleanup-me");
        asupersync::fs::write(&cx, &path, b"temporary")
            .await
            .unwrap();
        let finalizer_path = path.clone();
        let outcome = asupersync::Region::open(&cx, "with-cleanup", |cx| async move {
            let finalizer_cx = cx.clone();
            cx.defer(async move {
                fs::remove_file(&finalizer_cx, &finalizer_path)
                    .await
                    .unwrap();
            });
        })
        .await;
        assert!(outcome.is_ok(), "{:?}", outcome.map(|_| ()));
        assert!(!path.exists(), "the finalizer removed the file");
    });
}
