//! A payload that does not decode stops the projector with its position and stream; it is
//! never skipped, and nothing after it is applied. Projectors sharing a view store never
//! both apply a range, and projector shares add up to a whole rebuild.

use chrono::Utc;
use gongzhi_store::{
    AnyEventStore, AppendRequest, EventStore, Metadata, NewEvent, Partition, Position, connect,
};
use gongzhi_views::{ProjectionError, Projector, ViewStore};
use uuid::Uuid;

use crate::support::{Backend, china};

fn raw(event_type: &'static str, schema_version: u32, payload: serde_json::Value) -> NewEvent {
    NewEvent {
        event_id: Uuid::now_v7(),
        context: "assignment",
        event_type,
        schema_version,
        payload,
        causal: None,
    }
}

async fn an_undecodable_event_stops_the_projector_where_it_is(backend: Backend) {
    let store = connect(&backend.url("events")).await.unwrap();
    let views = ViewStore::open(&backend.url("views")).await.unwrap();
    let metadata = Metadata {
        actor: "test".into(),
        correlation_id: Uuid::now_v7(),
        causation_id: None,
        idempotency_key: None,
        recorded_at: Utc::now(),
    };
    let stream = Uuid::now_v7();
    // A category that is a number, then a perfectly good-looking event after it.
    let events = [raw(
        "CaseTriaged",
        1,
        serde_json::json!({ "category": 42, "priority": "normal" }),
    )];
    let bad = store
        .append(AppendRequest {
            stream_id: stream,
            expected_version: 0,
            events: &events,
            metadata: &metadata,
        })
        .await
        .unwrap();
    let later = [raw(
        "CaseTriaged",
        1,
        serde_json::json!({ "category": "noise", "priority": "normal" }),
    )];
    store
        .append(AppendRequest {
            stream_id: Uuid::now_v7(),
            expected_version: 0,
            events: &later,
            metadata: &metadata,
        })
        .await
        .unwrap();

    let mut projector = Projector::new(store, views.clone(), china());
    let error = projector.catch_up().await.unwrap_err();
    let ProjectionError::Decode {
        position,
        stream_id,
        ..
    } = &error
    else {
        panic!("expected a decode error, got {error:?}");
    };
    assert_eq!((*position, *stream_id), (bad.last_position, stream));
    let message = error.to_string();
    assert!(
        message.contains(&stream.to_string()) && message.contains(&bad.last_position.to_string()),
        "{message}"
    );
    // Nothing was applied and the checkpoint did not move past the bad event.
    assert_eq!(views.checkpoint("views").await.unwrap(), Position::START);
    assert!(views.all_summaries().await.unwrap().is_empty());
    // Asking again gives the same answer rather than skipping ahead.
    assert!(matches!(
        projector.catch_up().await,
        Err(ProjectionError::Decode { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_event_stops_the_projector_on_sqlite() {
    an_undecodable_event_stops_the_projector_where_it_is(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_event_stops_the_projector_on_postgres() {
    an_undecodable_event_stops_the_projector_where_it_is(Backend::postgres()).await;
}

async fn two_projectors_on_one_view_store_never_both_apply_a_range(backend: Backend) {
    let store = connect(&backend.url("events")).await.unwrap();
    let views = ViewStore::open(&backend.url("views")).await.unwrap();
    let data = gongzhi_service::DataFiles::shipped().unwrap();
    let plan = gongzhi_service::history::HistoryPlan::for_directory(
        &data.directory,
        30,
        10,
        Utc::now(),
        5,
    );
    let history = gongzhi_service::history::generate(&plan, &data.policy);
    gongzhi_service::history::load(&store, &history, 100, |_| {})
        .await
        .unwrap();

    let mut first = Projector::new(store.clone(), views.clone(), china()).with_batch_size(20);
    let mut second = Projector::new(store.clone(), views.clone(), china()).with_batch_size(20);
    first.step().await.unwrap();
    second.step().await.unwrap();
    // The first still believes the checkpoint is where it left it.
    let refused = first.step().await.unwrap_err();
    assert!(
        matches!(refused, ProjectionError::CheckpointMoved { .. }),
        "{refused:?}"
    );
    // After a refusal a projector reads the checkpoint again and goes on from there;
    // together they count everything once.
    first.catch_up().await.unwrap();
    let refused = second.catch_up().await.unwrap_err();
    assert!(
        matches!(refused, ProjectionError::CheckpointMoved { .. }),
        "{refused:?}"
    );
    assert_eq!(second.catch_up().await.unwrap(), 0);
    let filed: i64 = views
        .stats_rows()
        .await
        .unwrap()
        .iter()
        .map(|(_, c)| c.filed)
        .sum();
    assert_eq!(filed as usize, views.all_summaries().await.unwrap().len());
    assert_views_equal_a_rebuild(&backend, store, &views).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projectors_never_both_apply_a_range_on_sqlite() {
    two_projectors_on_one_view_store_never_both_apply_a_range(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_projectors_never_both_apply_a_range_on_postgres() {
    two_projectors_on_one_view_store_never_both_apply_a_range(Backend::postgres()).await;
}

/// Rebuilds the views from `store` beside `views`, and compares.
async fn assert_views_equal_a_rebuild(backend: &Backend, store: AnyEventStore, views: &ViewStore) {
    let rebuilt = ViewStore::open(&backend.url("rebuilt")).await.unwrap();
    Projector::new(store, rebuilt.clone(), china())
        .rebuild(|_| {})
        .await
        .unwrap();
    assert_eq!(
        rebuilt.contents().await.unwrap(),
        views.contents().await.unwrap()
    );
}

/// Two projector shares on one view store split the cases, start where a whole projector
/// left off, and together write what a whole rebuild writes.
async fn projector_shares_add_up_to_a_whole_rebuild(backend: Backend) {
    let store = connect(&backend.url("events")).await.unwrap();
    let views = ViewStore::open(&backend.url("views")).await.unwrap();
    let data = gongzhi_service::DataFiles::shipped().unwrap();
    let load = async |seed: u64| {
        let plan = gongzhi_service::history::HistoryPlan::for_directory(
            &data.directory,
            40,
            10,
            Utc::now(),
            seed,
        );
        let history = gongzhi_service::history::generate(&plan, &data.policy);
        gongzhi_service::history::load(&store, &history, 100, |_| {})
            .await
            .unwrap();
    };
    load(5).await;
    let mut whole = Projector::new(store.clone(), views.clone(), china());
    whole.catch_up().await.unwrap();
    let left_at = views.checkpoint("views").await.unwrap();

    load(6).await;
    let share = |index| {
        Projector::new(store.clone(), views.clone(), china())
            .with_batch_size(25)
            .with_partition(Partition::new(index, 2).unwrap())
    };
    let (mut first, mut second) = (share(0), share(1));
    let (a, b) = tokio::join!(first.catch_up(), second.catch_up());
    let (a, b) = (a.unwrap(), b.unwrap());
    let all = store.read_all(Position::START, 100_000).await.unwrap();
    let added = all.iter().filter(|e| e.position > left_at).count() as u64;
    assert!(added > 0);
    assert_eq!(
        (a, b),
        (added, added),
        "each share reads on from where the whole one stopped"
    );
    for share in ["views@0/2", "views@1/2"] {
        assert_eq!(
            views.checkpoint(share).await.unwrap(),
            all.last().unwrap().position
        );
    }

    let refused = first.rebuild(|_| {}).await.unwrap_err();
    assert!(
        matches!(refused, ProjectionError::PartialRebuild { .. }),
        "{refused:?}"
    );
    assert_views_equal_a_rebuild(&backend, store, &views).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projector_shares_add_up_to_a_whole_rebuild_on_sqlite() {
    projector_shares_add_up_to_a_whole_rebuild(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn projector_shares_add_up_to_a_whole_rebuild_on_postgres() {
    projector_shares_add_up_to_a_whole_rebuild(Backend::postgres()).await;
}
