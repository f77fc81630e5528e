//! The in-process bus between the three stores: an observed event waits for what its
//! writer had seen, a redelivery writes nothing, and a command waits for a case its
//! context has not heard of yet.

use std::sync::Arc;

use gongzhi_domain::Context;
use gongzhi_domain::{
    Actor, AssignmentCommand, Channel, Code, Command, FileConcern, IntakeCommand, Priority, Role,
};
use gongzhi_service::{
    Clock, Commands, ContextServices, Feed, Filing, Inbox, ManualClock, RequestMeta, SecretKey,
};
use gongzhi_store::{EventStore, Position, StoreError, StoredEvent};
use tokio::sync::watch;

use crate::support::{Backend, china, cst, policy, stores};

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

/// A feed that hands over fixed events, numbered in the order given (as a stream would).
struct Fixed {
    origin: Context,
    events: Vec<StoredEvent>,
    wake: watch::Sender<u64>,
}

impl Fixed {
    fn new(origin: Context, events: Vec<StoredEvent>) -> Self {
        let events = events
            .into_iter()
            .zip(1..)
            .map(|(event, sequence)| StoredEvent {
                position: Position {
                    commit: 0,
                    sequence,
                },
                ..event
            })
            .collect();
        Self {
            origin,
            events,
            wake: watch::Sender::new(0),
        }
    }
}

impl Feed for Fixed {
    fn origin(&self) -> Context {
        self.origin
    }

    async fn read(&self, after: Position, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(self
            .events
            .iter()
            .filter(|e| e.position > after)
            .take(limit)
            .cloned()
            .collect())
    }

    fn wake(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbox_reads_past_a_waiting_event_and_takes_events_out_of_their_order() {
    let backend = Backend::sqlite();
    let stores = stores(&backend).await;
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let services = ContextServices::new(&stores, policy(), clock.clone());
    let operator = Actor::staff("hotline", Role::Operator, None);
    let council = Actor::staff("council", Role::Council, None);
    let key = SecretKey::generate();
    let [first, second] =
        ["SY", "SY"].map(|prefix| Filing::new(prefix, clock.now(), china(), &key));
    for filing in [&first, &second] {
        services
            .execute(
                filing.case_id,
                &operator,
                &file(filing),
                &RequestMeta::default(),
            )
            .await
            .unwrap();
    }
    let mut inboxes = stores.inboxes();
    let log_from_intake = inboxes.remove(6);
    let assignment_from_intake = inboxes.remove(2);
    assignment_from_intake.step().await.unwrap();
    log_from_intake.step().await.unwrap();
    let triage = Command::Assignment(AssignmentCommand::TriageCase {
        category: Code::parse("category", "noise").unwrap(),
        priority: Priority::Normal,
    });
    let dispatch = Command::Assignment(AssignmentCommand::DispatchCase {
        unit: Code::parse("unit", "env-office").unwrap(),
        note: None,
    });
    for (filing, command) in [(&first, &triage), (&first, &dispatch), (&second, &triage)] {
        services
            .execute(filing.case_id, &council, command, &RequestMeta::default())
            .await
            .unwrap();
    }

    // The first case's dispatch reaches the log before its triage, the second case's
    // triage between them (a relay republished the refused triage after the rest).
    let decided: Vec<StoredEvent> = stores
        .assignment
        .read_all(Position::START, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.context == "assignment")
        .collect();
    assert_eq!(
        types(&decided),
        ["CaseTriaged", "CaseDispatched", "CaseTriaged"]
    );
    let [triaged, dispatched, other] = <[StoredEvent; 3]>::try_from(decided).unwrap();
    let inbox = Inbox::new(
        stores.log.clone(),
        Fixed::new(Context::Assignment, vec![dispatched, other, triaged]),
    );

    // The dispatch waits; the inbox reads past it, and its checkpoint stays before it.
    let step = inbox.step().await.unwrap();
    assert!(
        step.waiting && !step.moved && step.appended == 2,
        "{step:?}"
    );
    assert_eq!(
        stores
            .log
            .load_checkpoint("inbox:assignment")
            .await
            .unwrap(),
        Position::START
    );
    // Next time round the dispatch follows its triage, and the checkpoint moves past all.
    let step = inbox.step().await.unwrap();
    assert!(
        !step.waiting && step.moved && step.appended == 1,
        "{step:?}"
    );
    assert_eq!(inbox.step().await.unwrap().appended, 0);
    let log = stores
        .log
        .read_stream(first.case_id.as_uuid())
        .await
        .unwrap();
    assert_eq!(
        types(&log),
        ["ConcernFiled", "CaseTriaged", "CaseDispatched"]
    );
    let log = stores
        .log
        .read_stream(second.case_id.as_uuid())
        .await
        .unwrap();
    assert_eq!(types(&log), ["ConcernFiled", "CaseTriaged"]);
}
