//! The distributed bus on a real three-node JetStream cluster with a three-replica
//! stream: the relay publishes every event once through a server's crash and its own, and
//! an inbox following JetStream appends every event once, also when the stream replays.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gongzhi_bus::{JetStreamFeed, NatsCommands, RELAY_CHECKPOINT, Relay, StreamSettings};
use gongzhi_domain::{
    Actor, CaseId, Channel, Code, Command, Context, FileConcern, IntakeCommand, Role,
};
use gongzhi_service::{
    BoxFuture, Clock, CommandError, CommandOutcome, Commands, ContextServices, Filing,
    HistoryEntry, Inbox, ManualClock, RequestMeta, SecretKey,
};
use gongzhi_store::{AnyEventStore, EventStore, Partition, Position};
use gongzhi_test_support::NatsCluster;

use crate::support::{Backend, china, cst, policy, stores};

const CONCERNS: usize = 120;

fn file(filing: &Filing, n: usize) -> Command {
    Command::Intake(IntakeCommand::FileConcern(Box::new(FileConcern {
        tracking_code: filing.tracking_code.clone(),
        secret_digest: filing.secret_digest(),
        channel: Channel::Hotline,
        community: Code::parse("community", "shilong").unwrap(),
        category: None,
        title: format!("井盖缺失 {n}"),
        description: "石龙路井盖缺失，夜间危险".into(),
        address: None,
        location: None,
        reporter: None,
        anonymous: true,
        confidential: false,
    })))
}

async fn messages(jetstream: &async_nats::jetstream::Context, settings: &StreamSettings) -> u64 {
    let mut stream = jetstream.get_stream(&settings.name).await.unwrap();
    stream.info().await.unwrap().state.messages
}

/// Steps the relay until it has published everything, riding out failures.
async fn relay_all(relay: &Relay<AnyEventStore>) -> (usize, usize) {
    let started = Instant::now();
    let (mut published, mut duplicates) = (0, 0);
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the relay is stuck"
        );
        match relay.step().await {
            Ok(step) => {
                published += step.published;
                duplicates += step.duplicates;
                if !step.more && step.published == 0 {
                    return (published, duplicates);
                }
            }
            Err(error) => {
                eprintln!("relay step failed (retrying): {error}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

async fn filed_in(store: &AnyEventStore) -> usize {
    store
        .read_all(Position::START, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_type == "ConcernFiled")
        .count()
}

/// Steps the inbox until it has appended `expected` filings or gives up.
async fn follow(
    inbox: &Inbox<AnyEventStore, JetStreamFeed>,
    local: &AnyEventStore,
    expected: usize,
) -> usize {
    let started = Instant::now();
    let mut appended = 0;
    while filed_in(local).await < expected && started.elapsed() < Duration::from_secs(30) {
        appended += inbox.step().await.unwrap().appended;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    appended
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_and_inbox_move_every_event_once_through_crashes() {
    let nats = NatsCluster::start(3).unwrap();
    let settings = StreamSettings {
        replicas: 3,
        ..StreamSettings::default()
    };
    let jetstream = gongzhi_bus::connect(&nats.urls(), &settings).await.unwrap();
    let backend = Backend::sqlite();
    let stores = stores(&backend).await;
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let services = ContextServices::new(&stores, policy(), clock.clone());
    let operator = Actor::staff("hotline", Role::Operator, None);
    let key = SecretKey::generate();
    let relay = Relay::new(stores.intake.clone(), jetstream.clone(), Context::Intake);

    // Concerns are filed while the relay publishes; one server of three is killed half
    // way and comes back.
    let mut relayed = 0;
    for n in 0..CONCERNS {
        let filing = Filing::new("SY", clock.now(), china(), &key);
        services
            .execute(
                filing.case_id,
                &operator,
                &file(&filing, n),
                &RequestMeta::default(),
            )
            .await
            .unwrap();
        if n == CONCERNS / 3 {
            relayed += relay_all(&relay).await.0;
            nats.kill(1).unwrap();
        }
        if n == 2 * CONCERNS / 3 {
            relayed += relay_all(&relay).await.0;
            nats.restart(1).unwrap();
        }
    }
    relayed += relay_all(&relay).await.0;
    assert_eq!(relayed, CONCERNS);
    assert_eq!(messages(&jetstream, &settings).await, CONCERNS as u64);

    // The relay dies before saving its checkpoint: it publishes everything again, and the
    // stream keeps one copy of each.
    stores
        .intake
        .save_checkpoint(RELAY_CHECKPOINT, Position::START)
        .await
        .unwrap();
    let (again, duplicates) = relay_all(&relay).await;
    assert_eq!((again, duplicates), (CONCERNS, CONCERNS));
    assert_eq!(messages(&jetstream, &settings).await, CONCERNS as u64);

    // Assignment's replica follows intake through JetStream.
    let checkpoint = "inbox:intake";
    let after = stores.assignment.load_checkpoint(checkpoint).await.unwrap();
    let feed = JetStreamFeed::start(
        &jetstream,
        &settings,
        Context::Intake,
        Partition::WHOLE,
        after,
    )
    .await
    .unwrap();
    let inbox = Inbox::new(stores.assignment.clone(), feed);
    assert_eq!(inbox.consumer(), checkpoint);
    let appended = follow(&inbox, &stores.assignment, CONCERNS).await;
    assert_eq!(appended, CONCERNS);

    // The checkpoint is lost and the stream replays from its start: every event is
    // recognised as held and nothing is appended twice.
    stores
        .assignment
        .save_checkpoint(checkpoint, Position::START)
        .await
        .unwrap();
    let replay = JetStreamFeed::start(
        &jetstream,
        &settings,
        Context::Intake,
        Partition::WHOLE,
        Position::START,
    )
    .await
    .unwrap();
    let inbox = Inbox::new(stores.assignment.clone(), replay);
    let started = Instant::now();
    let mut replayed = 0;
    while started.elapsed() < Duration::from_secs(30) {
        let step = inbox.step().await.unwrap();
        replayed += step.appended;
        let now = stores.assignment.load_checkpoint(checkpoint).await.unwrap();
        if now.sequence >= CONCERNS as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(replayed, 0, "a replayed event was appended again");
    assert_eq!(filed_in(&stores.assignment).await, CONCERNS);
    println!(
        "bus: {CONCERNS} concerns filed; relayed {relayed} through a killed server, \
         republished {again} ({duplicates} dropped as duplicates), stream holds {}; \
         the replica appended {appended}, then 0 of a full replay",
        messages(&jetstream, &settings).await
    );
}

/// The services, taking their time over each command.
struct Slow(ContextServices<AnyEventStore>);

impl Commands for Slow {
    fn execute<'a>(
        &'a self,
        case_id: CaseId,
        actor: &'a Actor,
        command: &'a Command,
        meta: &'a RequestMeta,
    ) -> BoxFuture<'a, Result<CommandOutcome, CommandError>> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(800)).await;
            self.0.execute(case_id, actor, command, meta).await
        })
    }

    fn history(&self, case_id: CaseId) -> BoxFuture<'_, Result<Vec<HistoryEntry>, CommandError>> {
        self.0.history(case_id)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_command_service_answers_what_it_took_and_takes_no_more() {
    let nats = NatsCluster::start(1).unwrap();
    let client = gongzhi_bus::connect_client(&nats.urls()).await.unwrap();
    let backend = Backend::sqlite();
    let stores = stores(&backend).await;
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let services = Slow(ContextServices::new(&stores, policy(), clock.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn({
        let client = client.clone();
        async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            gongzhi_bus::serve_commands(client, Arc::new(services), &Context::ALL, shutdown).await
        }
    });
    let remote = Arc::new(NatsCommands::new(client, Duration::from_secs(5)));
    let started = Instant::now();
    while let Err(CommandError::Unavailable(_)) = remote
        .history(CaseId::from_uuid(uuid::Uuid::now_v7()))
        .await
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no command service"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A filing is on its way when the service is told to stop: it is answered, and done.
    let operator = Actor::staff("hotline", Role::Operator, None);
    let filing = Filing::new("SY", clock.now(), china(), &SecretKey::generate());
    let filed = tokio::spawn({
        let (remote, operator, command) = (Arc::clone(&remote), operator.clone(), file(&filing, 0));
        async move {
            remote
                .execute(filing.case_id, &operator, &command, &RequestMeta::default())
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    let outcome = filed
        .await
        .unwrap()
        .expect("the filing in flight is answered");
    assert_eq!(outcome.version, 1);
    assert_eq!(filed_in(&stores.intake).await, 1);
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the service stops once drained")
        .unwrap()
        .unwrap();

    // Nobody takes commands now: the caller hears so at once, and nothing is written.
    let late = Filing::new("SY", clock.now(), china(), &SecretKey::generate());
    let refused = remote
        .execute(
            late.case_id,
            &operator,
            &file(&late, 1),
            &RequestMeta::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CommandError::Unavailable(_)),
        "{refused:?}"
    );
    assert_eq!(filed_in(&stores.intake).await, 1);
}
