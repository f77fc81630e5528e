//! The story of DESIGN §3 end to end: file, triage, dispatch, return, re-dispatch, accept,
//! contact, resolve, unsatisfied feedback, reopen, resolve, satisfied feedback, close —
//! through the service, the store and the projector, checking every view row, on SQLite
//! and on PostgreSQL. Then a rebuild from position zero must equal the live views.

use std::sync::Arc;

use gongzhi_domain::{
    Actor, AssignmentCommand, CaseId, Channel, Code, Command, Contact, ContactVia, DomainError,
    FileConcern, IntakeCommand, Outcome, Priority, Reporter, ResolutionCommand, Role, Satisfaction,
    Status,
};
use gongzhi_service::{
    CaseService, Clock, CommandError, Filing, ManualClock, RequestMeta, SecretKey,
};
use gongzhi_store::{AnyEventStore, EventStore, connect};
use gongzhi_views::{Projector, StatCounts, StatKey, ViewStore};

use crate::support::{Backend, china, cst, policy};

fn code(value: &str) -> Code {
    Code::parse("code", value).unwrap()
}

fn handler(unit: &str) -> Actor {
    Actor::staff(&format!("{unit}-handler"), Role::Handler, Some(code(unit)))
}

struct Story {
    clock: Arc<ManualClock>,
    service: CaseService<AnyEventStore>,
    projector: Projector<AnyEventStore>,
    case_id: CaseId,
    /// What the resident proves the case is theirs with.
    secret: String,
}

impl Story {
    /// Runs a command at a local time and lets the projector catch up, as the live system
    /// would between requests.
    async fn at(
        &mut self,
        (month, day, hour, minute): (u32, u32, u32, u32),
        actor: &Actor,
        command: Command,
    ) -> u64 {
        self.clock.set(cst(month, day, hour, minute));
        let outcome = self
            .service
            .execute(self.case_id, actor, &command, &self.meta())
            .await
            .unwrap();
        self.projector.catch_up().await.unwrap();
        outcome.version
    }

    fn meta(&self) -> RequestMeta {
        RequestMeta {
            tracking_secret: Some(self.secret.clone()),
            ..RequestMeta::default()
        }
    }

    async fn refused(&self, actor: &Actor, command: Command) -> CommandError {
        let before = self
            .service
            .store()
            .read_stream(self.case_id.as_uuid())
            .await
            .unwrap()
            .len();
        let error = self
            .service
            .execute(self.case_id, actor, &command, &self.meta())
            .await
            .unwrap_err();
        let after = self
            .service
            .store()
            .read_stream(self.case_id.as_uuid())
            .await
            .unwrap()
            .len();
        assert_eq!(before, after, "a refused command wrote events");
        error
    }
}

fn key(day: &str, category: &str, unit: &str) -> StatKey {
    StatKey {
        day: day.into(),
        community: "shilong".into(),
        category: category.into(),
        channel: "hotline".into(),
        unit: unit.into(),
    }
}

async fn the_whole_lifecycle(backend: Backend) {
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let events = connect(&backend.url("events")).await.unwrap();
    let views = ViewStore::open(&backend.url("views")).await.unwrap();
    let service = CaseService::new(events.clone(), policy(), clock.clone());
    let projector = Projector::new(events.clone(), views.clone(), china()).with_batch_size(4);
    let filing = Filing::new("SY", clock.now(), china(), &SecretKey::generate());
    let mut story = Story {
        clock,
        service,
        projector,
        case_id: filing.case_id,
        secret: filing.tracking_secret.clone(),
    };

    let operator = Actor::staff("hotline-operator", Role::Operator, None);
    let council = Actor::staff("shilong-secretary", Role::Council, None);
    let file = Command::Intake(IntakeCommand::FileConcern(Box::new(FileConcern {
        tracking_code: filing.tracking_code.clone(),
        secret_digest: filing.secret_digest(),
        channel: Channel::Hotline,
        community: code("shilong"),
        category: None,
        title: "汇裕名都花园旁工地夜间施工".into(),
        description: "每晚施工到凌晨两点，影响休息 / Construction every night until 2 a.m.".into(),
        address: Some("石龙社区汇裕名都花园".into()),
        location: None,
        reporter: Some(Reporter {
            name: Some("王女士".into()),
            phone: Some("13812345678".into()),
            email: None,
        }),
        anonymous: false,
        confidential: false,
    })));

    // A retried filing with the same idempotency key writes once and answers the same.
    story.clock.set(cst(11, 23, 9, 0));
    let meta = RequestMeta {
        idempotency_key: Some("call-0001".into()),
        ..RequestMeta::default()
    };
    let first = story
        .service
        .execute(story.case_id, &operator, &file, &meta)
        .await
        .unwrap();
    let retry = story
        .service
        .execute(story.case_id, &operator, &file, &meta)
        .await
        .unwrap();
    assert_eq!((first.version, retry.version), (1, 1));
    assert!(retry.appended.unwrap().replayed);
    story.projector.catch_up().await.unwrap();

    // A command whose caller has stopped waiting writes nothing.
    let late = RequestMeta {
        deadline: Some(std::time::Instant::now()),
        ..RequestMeta::default()
    };
    let triage = assignment(AssignmentCommand::TriageCase {
        category: code("noise"),
        priority: Priority::Normal,
    });
    let refused = story
        .service
        .execute(story.case_id, &council, &triage, &late)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CommandError::Unavailable(_)),
        "{refused:?}"
    );
    assert_eq!(
        story
            .service
            .store()
            .read_stream(story.case_id.as_uuid())
            .await
            .unwrap()
            .len(),
        1
    );

    // Dispatch before triage is refused and writes nothing.
    let refused = story.refused(&council, dispatch("env-office")).await;
    assert!(
        matches!(refused, CommandError::Domain(DomainError::Rule(_))),
        "{refused:?}"
    );

    story
        .at(
            (11, 23, 9, 30),
            &council,
            assignment(AssignmentCommand::TriageCase {
                category: code("noise"),
                priority: Priority::Normal,
            }),
        )
        .await;
    story
        .at((11, 23, 10, 0), &council, dispatch("env-office"))
        .await;
    // One unit at a time.
    let refused = story.refused(&council, dispatch("urban-management")).await;
    assert!(
        matches!(
            refused,
            CommandError::Domain(DomainError::WrongState { .. })
        ),
        "{refused:?}"
    );
    story
        .at(
            (11, 23, 11, 0),
            &handler("env-office"),
            assignment(AssignmentCommand::ReturnDispatch {
                reason: "施工噪音归城管执法".into(),
            }),
        )
        .await;
    story
        .at((11, 23, 11, 30), &council, dispatch("urban-management"))
        .await;
    // A stale If-Match is a conflict, not a lost update.
    let stale = RequestMeta {
        expected_version: Some(3),
        ..RequestMeta::default()
    };
    let refused = story
        .service
        .execute(
            story.case_id,
            &handler("urban-management"),
            &assignment(AssignmentCommand::AcceptDispatch),
            &stale,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            CommandError::VersionConflict {
                expected: 3,
                actual: 5,
                ..
            }
        ),
        "{refused:?}"
    );
    story
        .at(
            (11, 23, 14, 0),
            &handler("urban-management"),
            assignment(AssignmentCommand::AcceptDispatch),
        )
        .await;
    // Only the unit holding the case may work on it.
    let refused = story
        .refused(
            &handler("env-office"),
            resolution(ResolutionCommand::RecordContact(Contact {
                via: ContactVia::Phone,
                note: None,
            })),
        )
        .await;
    assert!(
        matches!(refused, CommandError::Domain(DomainError::Rule(_))),
        "{refused:?}"
    );
    story
        .at(
            (11, 24, 9, 0),
            &handler("urban-management"),
            resolution(ResolutionCommand::RecordContact(Contact {
                via: ContactVia::Phone,
                note: Some("已电话联系王女士".into()),
            })),
        )
        .await;
    story
        .at(
            (11, 25, 16, 0),
            &handler("urban-management"),
            resolution(ResolutionCommand::ResolveCase {
                outcome: Outcome::Resolved,
                summary: "已责令夜间停工".into(),
            }),
        )
        .await;
    story
        .at(
            (11, 25, 18, 0),
            &Actor::Resident,
            resolution(ResolutionCommand::GiveFeedback {
                satisfaction: Satisfaction::Unsatisfied,
                resolved: false,
                comment: Some("昨晚还在施工".into()),
            }),
        )
        .await;
    story
        .at(
            (11, 26, 9, 0),
            &Actor::Resident,
            resolution(ResolutionCommand::ReopenCase {
                reason: "噪音仍在继续".into(),
            }),
        )
        .await;
    story
        .at(
            (11, 27, 10, 0),
            &handler("urban-management"),
            resolution(ResolutionCommand::ResolveCase {
                outcome: Outcome::Resolved,
                summary: "施工单位已调整作业时间".into(),
            }),
        )
        .await;
    story
        .at(
            (11, 27, 12, 0),
            &operator,
            resolution(ResolutionCommand::GiveFeedback {
                satisfaction: Satisfaction::Satisfied,
                resolved: true,
                comment: None,
            }),
        )
        .await;
    let version = story
        .at(
            (11, 27, 13, 0),
            &operator,
            resolution(ResolutionCommand::CloseCase {
                reason: "回访满意，结案".into(),
            }),
        )
        .await;
    assert_eq!(version, 13);

    // The case summary, field by field.
    let summary = views.summary(story.case_id).await.unwrap().unwrap();
    assert_eq!(summary.status, Status::Closed);
    assert_eq!(summary.tracking_code, filing.tracking_code.to_string());
    assert_eq!(summary.community, "shilong");
    assert_eq!(summary.category.as_deref(), Some("noise"));
    assert_eq!(summary.priority, Some(Priority::Normal));
    assert_eq!(summary.channel, Channel::Hotline);
    assert_eq!(summary.unit.as_deref(), Some("urban-management"));
    assert_eq!(summary.title, "汇裕名都花园旁工地夜间施工");
    assert_eq!(summary.filed_at, cst(11, 23, 9, 0));
    assert_eq!(summary.updated_at, cst(11, 27, 13, 0));
    assert_eq!(
        summary.dispatched_at,
        Some(cst(11, 26, 9, 0)),
        "the reopening restarts the clocks"
    );
    assert_eq!(summary.response_due, Some(cst(11, 27, 9, 0)));
    assert_eq!(summary.resolution_due, Some(cst(12, 15, 9, 0)));
    assert!(!summary.overdue);
    assert_eq!(
        (summary.returns, summary.reopens, summary.version),
        (1, 1, 13)
    );
    assert_eq!(
        summary.reporter.as_ref().and_then(|r| r.phone.as_deref()),
        Some("13812345678")
    );
    assert_eq!(
        summary.contacted_at, None,
        "no contact was recorded after the reopening"
    );
    assert_eq!(summary.resolved_at, Some(cst(11, 27, 10, 0)));
    assert_eq!(summary.closed_at, Some(cst(11, 27, 13, 0)));
    assert_eq!(summary.outcome, Some(Outcome::Resolved));
    assert_eq!(summary.satisfaction, Some(Satisfaction::Satisfied));
    assert_eq!(summary.rated_resolved, Some(true));

    // Every statistics row, and nothing else.
    let none = StatCounts::default();
    let expected = vec![
        (
            key("2026-11-23", "noise", ""),
            StatCounts { filed: 1, ..none },
        ),
        (
            key("2026-11-23", "noise", "env-office"),
            StatCounts {
                dispatched: 1,
                returns: 1,
                ..none
            },
        ),
        (
            key("2026-11-23", "noise", "urban-management"),
            StatCounts {
                dispatched: 1,
                ..none
            },
        ),
        (
            key("2026-11-24", "noise", "env-office"),
            StatCounts {
                response_due: 1,
                ..none
            },
        ),
        (
            key("2026-11-24", "noise", "urban-management"),
            StatCounts {
                response_due: 1,
                responded_on_time: 1,
                // Dispatched 11-23 11:30, contacted 11-24 09:00: 21.5 hours.
                contact_h24: 1,
                ..none
            },
        ),
        (
            key("2026-11-25", "noise", "urban-management"),
            StatCounts {
                resolved: 1,
                resolved_on_time: 1,
                rated: 1,
                // Resolved 11-25 16:00: 52.5 hours after the dispatch.
                resolve_h72: 1,
                ..none
            },
        ),
        (
            key("2026-11-26", "noise", "urban-management"),
            StatCounts {
                reopened: 1,
                ..none
            },
        ),
        (
            key("2026-11-27", "noise", "urban-management"),
            StatCounts {
                response_due: 1,
                resolved: 1,
                resolved_on_time: 1,
                rated: 1,
                rated_resolved: 1,
                satisfied: 1,
                closed: 1,
                // Reopened 11-26 09:00, resolved again 11-27 10:00: 25 hours.
                resolve_h48: 1,
                ..none
            },
        ),
    ];
    assert_eq!(views.stats_rows().await.unwrap(), expected);

    // A rebuild from position zero into an empty view store equals the live views.
    let rebuilt = ViewStore::open(&backend.url("rebuilt")).await.unwrap();
    let mut rebuilder =
        Projector::new(events.clone(), rebuilt.clone(), china()).with_batch_size(100);
    let replayed = rebuilder.rebuild(|_| {}).await.unwrap();
    assert_eq!(replayed, events.count().await.unwrap());
    assert_eq!(
        rebuilt.contents().await.unwrap(),
        views.contents().await.unwrap()
    );
    // Running it twice changes nothing.
    rebuilder.rebuild(|_| {}).await.unwrap();
    assert_eq!(rebuilt.stats_rows().await.unwrap(), expected);
}

fn dispatch(unit: &str) -> Command {
    assignment(AssignmentCommand::DispatchCase {
        unit: code(unit),
        note: None,
    })
}

fn assignment(command: AssignmentCommand) -> Command {
    Command::Assignment(command)
}

fn resolution(command: ResolutionCommand) -> Command {
    Command::Resolution(command)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_on_sqlite() {
    the_whole_lifecycle(Backend::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_lifecycle_on_postgres() {
    the_whole_lifecycle(Backend::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_used_for_one_case_is_refused_for_another() {
    let backend = Backend::sqlite();
    let clock = Arc::new(ManualClock::new(cst(11, 23, 9, 0)));
    let events = connect(&backend.url("events")).await.unwrap();
    let service = CaseService::new(events, policy(), clock.clone());
    let operator = Actor::staff("hotline-operator", Role::Operator, None);
    let meta = RequestMeta {
        idempotency_key: Some("call-0042".into()),
        ..RequestMeta::default()
    };
    let file = |filing: &Filing| {
        Command::Intake(IntakeCommand::FileConcern(Box::new(FileConcern {
            tracking_code: filing.tracking_code.clone(),
            secret_digest: filing.secret_digest(),
            channel: Channel::Hotline,
            community: code("shilong"),
            category: None,
            title: "路灯不亮".into(),
            description: "石龙路口路灯坏了一周".into(),
            address: None,
            location: None,
            reporter: None,
            anonymous: true,
            confidential: false,
        })))
    };
    let first = Filing::new("SY", clock.now(), china(), &SecretKey::generate());
    service
        .execute(first.case_id, &operator, &file(&first), &meta)
        .await
        .unwrap();
    // A filing retried with its key is answered with the case the key filed: the retry
    // cannot know the case id the first attempt made.
    let other = Filing::new("SY", clock.now(), china(), &SecretKey::generate());
    let retried = service
        .execute(other.case_id, &operator, &file(&other), &meta)
        .await
        .unwrap();
    assert_eq!(retried.case_id, first.case_id);
    // The same key on a command for another case is refused.
    let withdraw = Command::Intake(IntakeCommand::WithdrawConcern { reason: None });
    let refused = service
        .execute(other.case_id, &operator, &withdraw, &meta)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, CommandError::IdempotencyKeyReused { .. }),
        "{refused:?}"
    );
    assert!(
        service
            .store()
            .read_stream(other.case_id.as_uuid())
            .await
            .unwrap()
            .is_empty()
    );
}
