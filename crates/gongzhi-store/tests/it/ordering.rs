//! Gap-free global order on PostgreSQL under concurrent writers and late commits.
//!
//! Fast writers append through the store while slow writers insert a row, hold their
//! transaction open until a naive reader (ordering by position alone) has moved past their
//! position, and only then commit. The store's tailing reader must still see every event
//! exactly once, in position order; the naive reader, in the same run, must have missed the
//! late commits — which shows this test can fail.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use gongzhi_store::{
    AppendRequest, EventStore, Position, PostgresEventStore, PostgresOptions, Tail,
};
use gongzhi_test_support::PgCluster;
use sqlx::PgPool;
use uuid::Uuid;

use crate::support::{event, metadata};

const FAST_WRITERS: usize = 24;
const EVENTS_PER_FAST_WRITER: usize = 60;
const SLOW_WRITERS: usize = 4;
const LATE_COMMITS_PER_SLOW_WRITER: usize = 3;

/// A writer from another process whose commit lands long after its position was taken.
async fn late_commit(pool: &PgPool, naive_position: &AtomicI64) -> Uuid {
    let event_id = Uuid::now_v7();
    let mut tx = pool.begin().await.unwrap();
    let position: i64 = sqlx::query_scalar(
        "INSERT INTO events (event_id, stream_id, stream_version, context, event_type, schema_version, \
         payload, actor, correlation_id, append_index, recorded_at) \
         VALUES ($1, $2, 1, 'intake', 'LateCommit', 1, '{}', 'slow-writer', $3, 0, 0) RETURNING position",
    )
    .bind(event_id)
    .bind(Uuid::now_v7())
    .bind(Uuid::now_v7())
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    // Hold the transaction until a position-ordered reader has passed this row (or give up
    // after a while, so a broken run still ends).
    let deadline = Instant::now() + Duration::from_secs(10);
    while naive_position.load(Ordering::SeqCst) <= position && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tx.commit().await.unwrap();
    event_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailing_reader_sees_every_event_once_in_order_despite_late_commits() {
    let cluster = PgCluster::start().unwrap();
    let store = Arc::new(
        PostgresEventStore::open(&PostgresOptions::from_url(&cluster.url()).unwrap())
            .await
            .unwrap(),
    );
    let pool = store.pool().clone();
    let expected_total =
        FAST_WRITERS * EVENTS_PER_FAST_WRITER + SLOW_WRITERS * LATE_COMMITS_PER_SLOW_WRITER;
    let naive_position = Arc::new(AtomicI64::new(0));
    let writing = Arc::new(AtomicBool::new(true));

    // The reader under test.
    let tail_reader = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tail = Tail::new(&*store, Position::START, 50, Duration::from_millis(5));
            let mut seen = Vec::new();
            while seen.len() < expected_total {
                let batch = tokio::time::timeout(Duration::from_secs(30), tail.next_batch())
                    .await
                    .expect("the tailing reader stalled")
                    .unwrap();
                seen.extend(batch.into_iter().map(|e| (e.position, e.event_id)));
            }
            seen
        })
    };

    // The reader that trusts position order alone.
    let naive_reader = {
        let pool = pool.clone();
        let naive_position = naive_position.clone();
        let writing = writing.clone();
        tokio::spawn(async move {
            let mut seen = HashSet::new();
            loop {
                let done = !writing.load(Ordering::SeqCst);
                let rows: Vec<(i64, Uuid)> =
                    sqlx::query_as("SELECT position, event_id FROM events WHERE position > $1 ORDER BY position LIMIT 50")
                        .bind(naive_position.load(Ordering::SeqCst))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                if let Some((last, _)) = rows.last() {
                    naive_position.store(*last, Ordering::SeqCst);
                }
                seen.extend(rows.into_iter().map(|(_, id)| id));
                if done {
                    return seen;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };

    let mut writers = Vec::new();
    for _ in 0..SLOW_WRITERS {
        let (pool, naive_position) = (pool.clone(), naive_position.clone());
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..LATE_COMMITS_PER_SLOW_WRITER {
                ids.push(late_commit(&pool, &naive_position).await);
            }
            ids
        }));
    }
    for writer in 0..FAST_WRITERS {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let stream = Uuid::now_v7();
            let mut ids = Vec::new();
            for n in 0..EVENTS_PER_FAST_WRITER {
                let events = [event("FastWrite", (writer * 1000 + n) as u64)];
                let request = AppendRequest {
                    stream_id: stream,
                    expected_version: n as u64,
                    events: &events,
                    metadata: &metadata(None),
                };
                store.append(request).await.unwrap();
                ids.push(events[0].event_id);
                if n % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(3)).await;
                }
            }
            ids
        }));
    }
    let mut written = HashSet::new();
    for writer in writers {
        written.extend(writer.await.unwrap());
    }
    // Let the naive reader take one last look now that everything has committed.
    writing.store(false, Ordering::SeqCst);
    let naive_seen = naive_reader.await.unwrap();

    let seen = tail_reader.await.unwrap();
    let seen_ids: HashSet<Uuid> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(written.len(), expected_total);
    assert_eq!(
        seen.len(),
        expected_total,
        "the tailing reader saw a duplicate or an extra event"
    );
    assert_eq!(seen_ids, written, "the tailing reader missed events");
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "the tailing reader went backwards"
    );

    let missed_by_naive = written.difference(&naive_seen).count();
    println!(
        "{expected_total} events from {} writers; tailing reader: 0 missed, 0 duplicates; \
         position-order reader: {missed_by_naive} missed",
        FAST_WRITERS + SLOW_WRITERS
    );
    assert!(
        missed_by_naive >= SLOW_WRITERS,
        "the late commits did not overtake the naive reader ({missed_by_naive} missed), so this run proved nothing"
    );
}

#[tokio::test]
async fn a_store_whose_cluster_counter_is_behind_its_events_refuses_to_open() {
    let cluster = PgCluster::start().unwrap();
    let options = PostgresOptions::from_url(&cluster.url()).unwrap();
    let store = PostgresEventStore::open(&options).await.unwrap();
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
    // What a restore into a fresh cluster looks like: ids from a counter far ahead.
    sqlx::query("UPDATE events SET transaction_id = transaction_id + 1000000000")
        .execute(store.pool())
        .await
        .unwrap();
    let refused = PostgresEventStore::open(&options).await.unwrap_err();
    assert!(
        matches!(
            refused,
            gongzhi_store::StoreError::TransactionIdsBehind { .. }
        ),
        "{refused}"
    );
}
