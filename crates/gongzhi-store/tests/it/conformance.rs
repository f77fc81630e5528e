//! What every backend must do, written once and run against SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use gongzhi_store::{
    AnyEventStore, AppendError, AppendRequest, EventStore, NewEvent, Position, Tail,
};
use uuid::Uuid;

use crate::support::{event, metadata};

async fn append_n(
    store: &AnyEventStore,
    stream: Uuid,
    expected: u64,
    n: u64,
) -> gongzhi_store::Appended {
    let events: Vec<_> = (0..n).map(|i| event("Something", expected + i)).collect();
    store
        .append(AppendRequest {
            stream_id: stream,
            expected_version: expected,
            events: &events,
            metadata: &metadata(None),
        })
        .await
        .unwrap()
}

async fn a_stream_reads_back_in_version_order(store: AnyEventStore) {
    let stream = Uuid::now_v7();
    let first = append_n(&store, stream, 0, 2).await;
    let second = append_n(&store, stream, 2, 1).await;
    assert_eq!((first.first_version, first.last_version), (1, 2));
    assert_eq!((second.first_version, second.last_version), (3, 3));
    assert!(second.last_position > first.last_position);
    let events = store.read_stream(stream).await.unwrap();
    let versions: Vec<u64> = events.iter().map(|e| e.stream_version).collect();
    assert_eq!(versions, [1, 2, 3]);
    let payload: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
    assert_eq!(payload["text"], "石龙社区 noise");
    assert_eq!(events[0].metadata.actor, "tester");
    assert_eq!(events[2].position, second.last_position);
}

async fn a_stale_expected_version_is_a_conflict_and_writes_nothing(store: AnyEventStore) {
    let stream = Uuid::now_v7();
    append_n(&store, stream, 0, 2).await;
    for expected in [0, 1, 5] {
        let events = [event("Late", 0)];
        let refused = store
            .append(AppendRequest {
                stream_id: stream,
                expected_version: expected,
                events: &events,
                metadata: &metadata(None),
            })
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AppendError::VersionConflict { expected: e, actual: 2, .. } if e == expected),
            "{refused:?}"
        );
    }
    assert_eq!(store.read_stream(stream).await.unwrap().len(), 2);
}

async fn a_retried_append_returns_the_original_and_writes_nothing(store: AnyEventStore) {
    let stream = Uuid::now_v7();
    let events = [event("ConcernFiled", 1)];
    let meta = metadata(Some("retry-key-1"));
    let request = AppendRequest {
        stream_id: stream,
        expected_version: 0,
        events: &events,
        metadata: &meta,
    };
    let original = store.append(request).await.unwrap();
    assert!(!original.replayed);
    // Same key, even with other event ids and a stale version: same answer, nothing written.
    let again = [event("ConcernFiled", 2)];
    let retried = store
        .append(AppendRequest {
            stream_id: stream,
            expected_version: 0,
            events: &again,
            metadata: &meta,
        })
        .await
        .unwrap();
    assert!(retried.replayed);
    assert_eq!(
        (retried.last_version, retried.last_position),
        (original.last_version, original.last_position)
    );
    assert_eq!(store.read_stream(stream).await.unwrap().len(), 1);
    assert_eq!(
        store
            .find_idempotent("retry-key-1")
            .await
            .unwrap()
            .map(|a| a.last_version),
        Some(1)
    );
    assert_eq!(store.find_idempotent("never-used").await.unwrap(), None);
}

async fn concurrent_retries_with_one_key_write_once(store: AnyEventStore) {
    let store = Arc::new(store);
    let stream = Uuid::now_v7();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let events = [event("ConcernFiled", i)];
                let meta = metadata(Some("same-key"));
                store
                    .append(AppendRequest {
                        stream_id: stream,
                        expected_version: 0,
                        events: &events,
                        metadata: &meta,
                    })
                    .await
            })
        })
        .collect();
    let (mut originals, mut answered_as_retry) = (Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(appended) if !appended.replayed => originals.push(appended),
            Ok(appended) => {
                assert_eq!((appended.stream_id, appended.last_version), (stream, 1));
                answered_as_retry += 1;
            }
            // A retry that raced the original before its key was visible sees the stream
            // already written: the store refuses it, the service layer then finds the key.
            Err(AppendError::VersionConflict {
                expected: 0,
                actual: 1,
                ..
            }) => answered_as_retry += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(originals.len(), 1, "exactly one append wrote");
    assert_eq!(answered_as_retry, 7);
    assert_eq!(
        store
            .find_idempotent("same-key")
            .await
            .unwrap()
            .map(|a| a.last_position),
        Some(originals[0].last_position)
    );
    assert_eq!(store.read_stream(stream).await.unwrap().len(), 1);
}

async fn concurrent_appends_at_one_version_have_one_winner(store: AnyEventStore) {
    let store = Arc::new(store);
    let stream = Uuid::now_v7();
    append_n(&store, stream, 0, 1).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let events = [event("CaseDispatched", i)];
                store
                    .append(AppendRequest {
                        stream_id: stream,
                        expected_version: 1,
                        events: &events,
                        metadata: &metadata(None),
                    })
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => winners += 1,
            Err(AppendError::VersionConflict {
                expected: 1,
                actual: 2,
                ..
            }) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(store.read_stream(stream).await.unwrap().len(), 2);
}

async fn an_event_id_is_stored_once(store: AnyEventStore) {
    let events = [event("ConcernFiled", 1)];
    store
        .append(AppendRequest {
            stream_id: Uuid::now_v7(),
            expected_version: 0,
            events: &events,
            metadata: &metadata(None),
        })
        .await
        .unwrap();
    let refused = store
        .append(AppendRequest {
            stream_id: Uuid::now_v7(),
            expected_version: 0,
            events: &events,
            metadata: &metadata(None),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AppendError::DuplicateEvent(id) if id == events[0].event_id),
        "{refused:?}"
    );
}

async fn a_batch_is_written_whole_or_not_at_all(store: AnyEventStore) {
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    append_n(&store, b, 0, 1).await;
    let (one, two) = ([event("A", 1), event("A", 2)], [event("B", 1)]);
    let meta = metadata(None);
    let ok = store
        .append_batch(&[
            AppendRequest {
                stream_id: a,
                expected_version: 0,
                events: &one,
                metadata: &meta,
            },
            AppendRequest {
                stream_id: b,
                expected_version: 1,
                events: &two,
                metadata: &meta,
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        ok.iter().map(|x| x.last_version).collect::<Vec<_>>(),
        [2, 2]
    );
    // The second request is stale: the first one must not land either.
    let (three, four) = ([event("A", 3)], [event("B", 2)]);
    let refused = store
        .append_batch(&[
            AppendRequest {
                stream_id: a,
                expected_version: 2,
                events: &three,
                metadata: &meta,
            },
            AppendRequest {
                stream_id: b,
                expected_version: 1,
                events: &four,
                metadata: &meta,
            },
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(refused, AppendError::VersionConflict { actual: 2, .. }),
        "{refused:?}"
    );
    assert_eq!(store.read_stream(a).await.unwrap().len(), 2);
    assert_eq!(store.read_stream(b).await.unwrap().len(), 2);
}

async fn a_multi_event_append_with_a_key_replays_whole(store: AnyEventStore) {
    let stream = Uuid::now_v7();
    append_n(&store, stream, 0, 1).await;
    let events = [event("X", 1), event("X", 2), event("X", 3)];
    let meta = metadata(Some("three-at-once"));
    let first = store
        .append(AppendRequest {
            stream_id: stream,
            expected_version: 1,
            events: &events,
            metadata: &meta,
        })
        .await
        .unwrap();
    let again = store
        .append(AppendRequest {
            stream_id: stream,
            expected_version: 4,
            events: &[event("X", 9)],
            metadata: &meta,
        })
        .await
        .unwrap();
    assert_eq!((first.first_version, first.last_version), (2, 4));
    assert_eq!(
        (again.first_version, again.last_version, again.last_position),
        (2, 4, first.last_position)
    );
    assert!(again.replayed);
    let stored = store.read_stream(stream).await.unwrap();
    assert_eq!(stored.len(), 4);
    assert!(
        stored[1..]
            .iter()
            .all(|e| e.metadata.idempotency_key.as_deref() == Some("three-at-once"))
    );
}

async fn an_empty_append_is_refused(store: AnyEventStore) {
    let refused = store
        .append(AppendRequest {
            stream_id: Uuid::now_v7(),
            expected_version: 0,
            events: &[],
            metadata: &metadata(None),
        })
        .await
        .unwrap_err();
    assert!(matches!(refused, AppendError::Empty));
}

async fn the_global_order_reads_in_batches_without_gaps(store: AnyEventStore) {
    let streams: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    for round in 0..4 {
        for stream in &streams {
            append_n(&store, *stream, round, 1).await;
        }
    }
    let mut after = Position::START;
    let mut seen = Vec::new();
    loop {
        let batch = store.read_all(after, 3).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() <= 3);
        after = batch.last().unwrap().position;
        seen.extend(batch);
    }
    assert_eq!(seen.len(), 20);
    assert!(seen.windows(2).all(|w| w[0].position < w[1].position));
    // Within a stream, global order keeps version order.
    for stream in &streams {
        let versions: Vec<u64> = seen
            .iter()
            .filter(|e| e.stream_id == *stream)
            .map(|e| e.stream_version)
            .collect();
        assert_eq!(versions, [1, 2, 3, 4]);
    }
}

async fn a_relay_reads_one_context_in_global_order_and_first_events_by_stream(
    store: AnyEventStore,
) {
    let streams: Vec<Uuid> = (0..4).map(|_| Uuid::now_v7()).collect();
    for (round, context) in ["intake", "assignment", "intake", "resolution"]
        .into_iter()
        .enumerate()
    {
        for stream in &streams {
            let events = [NewEvent {
                context,
                ..event("Something", round as u64)
            }];
            store
                .append(AppendRequest {
                    stream_id: *stream,
                    expected_version: round as u64,
                    events: &events,
                    metadata: &metadata(None),
                })
                .await
                .unwrap();
        }
    }
    let mut after = Position::START;
    let mut decided = Vec::new();
    loop {
        let (batch, through) = store.read_decided("intake", after, 3).await.unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(through >= batch.last().unwrap().position);
        after = through;
        decided.extend(batch);
    }
    assert_eq!(decided.len(), 8);
    assert!(decided.iter().all(|e| e.context == "intake"));
    assert!(decided.windows(2).all(|w| w[0].position < w[1].position));
    let all = store.read_all(Position::START, 100).await.unwrap();
    let intake: Vec<Uuid> = all
        .iter()
        .filter(|e| e.context == "intake")
        .map(|e| e.event_id)
        .collect();
    assert_eq!(
        decided.iter().map(|e| e.event_id).collect::<Vec<_>>(),
        intake
    );
    // Past its own last event the reader moved over the others' to the head, and stays.
    let head = all.last().unwrap().position;
    assert_eq!(after, head);
    assert_eq!(
        store.read_decided("intake", head, 3).await.unwrap(),
        (Vec::new(), head)
    );

    let asked = [streams[1], streams[3], Uuid::now_v7()];
    let mut first = store.first_events(&asked).await.unwrap();
    first.sort_by_key(|e| e.stream_id);
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|e| e.stream_version == 1));
    let mut expected = vec![streams[1], streams[3]];
    expected.sort();
    assert_eq!(
        first.iter().map(|e| e.stream_id).collect::<Vec<_>>(),
        expected
    );
}

async fn a_tailing_reader_wakes_when_an_event_commits(store: AnyEventStore) {
    let store = Arc::new(store);
    // A long poll interval: only the wake-up can make this test finish quickly.
    let reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tail = Tail::new(&*store, Position::START, 10, Duration::from_secs(30));
            tail.next_batch().await.unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    append_n(&store, Uuid::now_v7(), 0, 1).await;
    let batch = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(batch.len(), 1);
}

async fn checkpoints_are_saved_per_consumer(store: AnyEventStore) {
    assert_eq!(
        store.load_checkpoint("relay").await.unwrap(),
        Position::START
    );
    store
        .save_checkpoint("relay", Position::new(7, 42))
        .await
        .unwrap();
    store
        .save_checkpoint("relay", Position::new(7, 43))
        .await
        .unwrap();
    assert_eq!(
        store.load_checkpoint("relay").await.unwrap(),
        Position::new(7, 43)
    );
    assert_eq!(
        store.load_checkpoint("projector").await.unwrap(),
        Position::START
    );
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = crate::support::sqlite_store().await;
                super::$name(store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_guard, store) = crate::support::postgres_store().await;
                super::$name(store).await;
            })*
        }
    };
}

conformance!(
    a_stream_reads_back_in_version_order,
    a_stale_expected_version_is_a_conflict_and_writes_nothing,
    a_retried_append_returns_the_original_and_writes_nothing,
    concurrent_retries_with_one_key_write_once,
    concurrent_appends_at_one_version_have_one_winner,
    an_event_id_is_stored_once,
    an_empty_append_is_refused,
    a_batch_is_written_whole_or_not_at_all,
    a_multi_event_append_with_a_key_replays_whole,
    the_global_order_reads_in_batches_without_gaps,
    a_relay_reads_one_context_in_global_order_and_first_events_by_stream,
    a_tailing_reader_wakes_when_an_event_commits,
    checkpoints_are_saved_per_consumer,
);
