//! The in-process bus between the three stores: an observed event waits for what its
//! writer had seen, a redelivery writes nothing, and a command waits for a case its
//! context has not heard of yet.

use std::sync::Arc;

use gongzhi_domain::{
    Actor, AssignmentCommand, Channel, Code, Command, FileConcern, IntakeCommand, Priority, Role,
};
use gongzhi_service::{
    Clock, Commands, ContextServices, Filing, ManualClock, RequestMeta, SecretKey, Stores,
};
use gongzhi_store::{AnyEventStore, EventStore, Position, connect};

use crate::support::{Backend, china, cst, policy};

async fn stores(backend: &Backend) -> Stores<AnyEventStore> {
    Stores {
        intake: connect(&backend.url("intake")).await.unwrap(),
        assignment: connect(&backend.url("assignment")).await.unwrap(),
        resolution: connect(&backend.url("resolution")).await.unwrap(),
        log: connect(&backend.url("log")).await.unwrap(),
    }
}

fn file(filing: &Filing) -> Command {
    Command::Intake(IntakeCommand::FileConcern(Box::new(FileConcern {
        tracking_code: filing.tracking_code.clone(),
        secret_digest: filing.secret_digest(),
        channel: Channel::Hotline,
        community: Code::parse("community", "shilong").unwrap(),
        category: None,
        title: "井盖缺失".into(),
        description: "石龙路井盖缺失，夜间危险".into(),
        address: None,
        location: None,
        reporter: None,
        anonymous: true,
        confidential: false,
    })))
}

fn types(events: &[gongzhi_store::StoredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observed_event_waits_for_what_its_writer_had_seen_and_lands_once() {
    let backend = Backend::sqlite();
    let stores = stores(&backend).await;
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let services = ContextServices::new(&stores, policy(), clock.clone());
    let operator = Actor::staff("hotline", Role::Operator, None);
    let council = Actor::staff("council", Role::Council, None);
    let filing = Filing::new("SY", clock.now(), china(), &SecretKey::generate());
    let case = filing.case_id;
    services
        .execute(case, &operator, &file(&filing), &RequestMeta::default())
        .await
        .unwrap();

    // Only the assignment inbox from intake runs: assignment hears of the filing.
    let mut inboxes = stores.inboxes();
    let log_from_intake = inboxes.remove(6);
    let assignment_from_intake = inboxes.remove(2);
    assert_eq!(assignment_from_intake.consumer(), "inbox:intake");
    assignment_from_intake.step().await.unwrap();
    let triage = Command::Assignment(AssignmentCommand::TriageCase {
        category: Code::parse("category", "public-safety").unwrap(),
        priority: Priority::Urgent,
    });
    services
        .execute(case, &council, &triage, &RequestMeta::default())
        .await
        .unwrap();

    // The log hears of the triage before the filing it depends on: it waits.
    let log_from_assignment = inboxes.remove(5);
    assert_eq!(log_from_assignment.consumer(), "inbox:assignment");
    let waited = log_from_assignment.step().await.unwrap();
    assert!(waited.waiting && waited.appended == 0, "{waited:?}");
    assert!(
        stores
            .log
            .read_stream(case.as_uuid())
            .await
            .unwrap()
            .is_empty()
    );

    // Once the filing is there, the triage follows it: causes before effects.
    log_from_intake.step().await.unwrap();
    let delivered = log_from_assignment.step().await.unwrap();
    assert_eq!(delivered.appended, 1);
    let log = stores.log.read_stream(case.as_uuid()).await.unwrap();
    assert_eq!(types(&log), ["ConcernFiled", "CaseTriaged"]);
    let origin = stores.assignment.read_stream(case.as_uuid()).await.unwrap();
    assert_eq!(
        log[1].event_id, origin[1].event_id,
        "the copy keeps the event id"
    );

    // A redelivery from the start (a lost checkpoint) writes nothing.
    stores
        .log
        .save_checkpoint("inbox:assignment", Position::START)
        .await
        .unwrap();
    stores
        .log
        .save_checkpoint("inbox:intake", Position::START)
        .await
        .unwrap();
    assert_eq!(log_from_intake.step().await.unwrap().appended, 0);
    assert_eq!(log_from_assignment.step().await.unwrap().appended, 0);
    assert_eq!(
        stores.log.read_stream(case.as_uuid()).await.unwrap().len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_waits_briefly_for_a_case_its_context_has_not_heard_of() {
    let backend = Backend::sqlite();
    let stores = stores(&backend).await;
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let services = ContextServices::new(&stores, policy(), clock.clone());
    let operator = Actor::staff("hotline", Role::Operator, None);
    let council = Actor::staff("council", Role::Council, None);
    let filing = Filing::new("SY", clock.now(), china(), &SecretKey::generate());
    let case = filing.case_id;
    services
        .execute(case, &operator, &file(&filing), &RequestMeta::default())
        .await
        .unwrap();
    let triage = Command::Assignment(AssignmentCommand::TriageCase {
        category: Code::parse("category", "noise").unwrap(),
        priority: Priority::Normal,
    });
    // The bus delivers the filing a moment after the triage arrives.
    let inbox = stores.inboxes().remove(2);
    let deliver = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        inbox.step().await.unwrap();
    });
    let outcome = services
        .execute(case, &council, &triage, &RequestMeta::default())
        .await
        .unwrap();
    deliver.await.unwrap();
    assert_eq!(outcome.version, 2);
    let stream = stores.assignment.read_stream(case.as_uuid()).await.unwrap();
    assert_eq!(types(&stream), ["ConcernFiled", "CaseTriaged"]);
}
