//! The rules of DESIGN §3 as given/when/then tests, named after the rule they check.

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};

use crate::*;

const SLA: &str = include_str!("../../../data/sla.toml");
const CALENDAR_2026: &str = include_str!("../../../data/calendar/2026.toml");

fn policy() -> SlaPolicy {
    SlaPolicy::from_toml(SLA).unwrap()
}

fn calendar() -> Calendar {
    let mut calendar = Calendar::china();
    calendar.load_year(CALENDAR_2026).unwrap();
    calendar
}

/// Local China time.
fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn code(value: &str) -> Code {
    Code::parse("code", value).unwrap()
}

fn council() -> Actor {
    Actor::staff("shilong-secretary", Role::Council, None)
}

fn handler(unit: &str) -> Actor {
    Actor::staff("handler", Role::Handler, Some(code(unit)))
}

fn operator() -> Actor {
    Actor::staff("operator", Role::Operator, None)
}

/// A case history and the clock; `when` decides a command against it.
struct Scenario {
    case: Case,
    now: DateTime<Utc>,
    sla: SlaPolicy,
    calendar: Calendar,
}

fn given(events: &[CaseEvent]) -> Scenario {
    let mut scenario = Scenario {
        case: Case::new(CaseId::from_uuid(uuid::Uuid::from_u128(
            0x0193_6a00_0000_7000_8000_0000_0000_0001,
        ))),
        now: cst(2026, 11, 23, 9, 0), // a Monday
        sla: policy(),
        calendar: calendar(),
    };
    for event in events {
        scenario.record(event.clone());
    }
    scenario
}

impl Scenario {
    /// Moves the clock forward and appends an event at that time.
    fn record(&mut self, event: CaseEvent) {
        self.now += Duration::minutes(1);
        self.case = self.case.clone().evolve(&event, self.now);
    }

    fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = now;
        self
    }

    fn when(&self, actor: &Actor, command: Command) -> Result<Vec<CaseEvent>, DomainError> {
        let rules = Rules {
            now: self.now,
            sla: &self.sla,
            calendar: &self.calendar,
        };
        decide(&self.case, actor, &command, &rules)
    }

    /// Decides and applies, failing the test if the command is refused.
    fn then_apply(&mut self, actor: &Actor, command: Command) -> Vec<CaseEvent> {
        let events = self.when(actor, command).unwrap();
        for event in &events {
            self.record(event.clone());
        }
        events
    }
}

fn filed() -> CaseEvent {
    CaseEvent::ConcernFiled {
        tracking_code: TrackingCode::parse("SY-2611-7K3Q").unwrap(),
        secret_digest: "ab".repeat(32),
        channel: Channel::Hotline,
        community: code("shilong"),
        category: None,
        title: "夜间施工噪音 Night-time construction noise".into(),
        description: "汇裕名都花园旁工地每晚施工到凌晨两点".into(),
        address: Some("石龙社区汇裕名都花园".into()),
        location: None,
        reporter: Some(Reporter {
            name: Some("王女士".into()),
            phone: Some("13812345678".into()),
            email: None,
        }),
        anonymous: false,
        confidential: false,
        filed_at: cst(2026, 11, 23, 9, 0),
    }
}

fn triaged() -> CaseEvent {
    CaseEvent::CaseTriaged {
        category: code("noise"),
        priority: Priority::Normal,
    }
}

fn dispatched(unit: &str, number: u32) -> CaseEvent {
    CaseEvent::CaseDispatched {
        unit: code(unit),
        dispatch: number,
        note: None,
        response_due: cst(2026, 11, 24, 9, 2),
        resolution_due: cst(2026, 12, 10, 9, 2),
    }
}

fn accepted(unit: &str) -> CaseEvent {
    CaseEvent::DispatchAccepted { unit: code(unit) }
}

fn resolved(unit: &str) -> CaseEvent {
    CaseEvent::CaseResolved {
        unit: code(unit),
        outcome: Outcome::Resolved,
        summary: "已责令施工方夜间停工".into(),
    }
}

fn feedback(satisfaction: Satisfaction) -> CaseEvent {
    CaseEvent::FeedbackGiven {
        satisfaction,
        resolved: satisfaction.is_satisfied(),
        comment: None,
        by_operator: false,
    }
}

fn dispatch(unit: &str) -> Command {
    Command::Assignment(AssignmentCommand::DispatchCase {
        unit: code(unit),
        note: None,
    })
}

fn resolution(command: ResolutionCommand) -> Command {
    Command::Resolution(command)
}

fn assignment(command: AssignmentCommand) -> Command {
    Command::Assignment(command)
}

fn filing() -> FileConcern {
    FileConcern {
        tracking_code: TrackingCode::parse("SY-2611-7K3Q").unwrap(),
        secret_digest: "cd".repeat(32),
        channel: Channel::App,
        community: code("shilong"),
        category: Some(code("noise")),
        title: "  楼下餐馆油烟 ".into(),
        description: "每天晚上油烟很大".into(),
        address: None,
        location: None,
        reporter: None,
        anonymous: true,
        confidential: false,
    }
}

mod intake {
    use super::*;

    #[test]
    fn a_resident_files_through_the_app_and_the_text_is_trimmed() {
        let events = given(&[])
            .when(
                &Actor::Resident,
                Command::Intake(IntakeCommand::FileConcern(Box::new(filing()))),
            )
            .unwrap();
        let [
            CaseEvent::ConcernFiled {
                title, anonymous, ..
            },
        ] = events.as_slice()
        else {
            panic!("expected one ConcernFiled, got {events:?}");
        };
        assert_eq!(title, "楼下餐馆油烟");
        assert!(anonymous);
    }

    #[test]
    fn a_resident_cannot_file_as_if_by_hotline() {
        let mut concern = filing();
        concern.channel = Channel::Hotline;
        let refused = given(&[])
            .when(
                &Actor::Resident,
                Command::Intake(IntakeCommand::FileConcern(Box::new(concern))),
            )
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::rule(
                "residents file through the app or web form; other channels are recorded by staff"
            )
        );
    }

    #[test]
    fn a_concern_is_filed_once() {
        let refused = given(&[filed()])
            .when(
                &operator(),
                Command::Intake(IntakeCommand::FileConcern(Box::new(filing()))),
            )
            .unwrap_err();
        assert_eq!(refused, DomainError::AlreadyFiled);
    }

    #[test]
    fn an_empty_title_and_an_oversized_description_are_refused_by_field() {
        let mut concern = filing();
        concern.title = "   ".into();
        let refused = given(&[])
            .when(
                &operator(),
                Command::Intake(IntakeCommand::FileConcern(Box::new(concern))),
            )
            .unwrap_err();
        assert!(matches!(
            refused,
            DomainError::Invalid { field: "title", .. }
        ));

        let mut concern = filing();
        concern.description = "长".repeat(5_001);
        let refused = given(&[])
            .when(
                &operator(),
                Command::Intake(IntakeCommand::FileConcern(Box::new(concern))),
            )
            .unwrap_err();
        assert!(matches!(
            refused,
            DomainError::Invalid {
                field: "description",
                ..
            }
        ));
    }

    #[test]
    fn an_anonymous_concern_carries_no_name() {
        let mut concern = filing();
        concern.reporter = Some(Reporter {
            name: Some("李先生".into()),
            ..Reporter::default()
        });
        let refused = given(&[])
            .when(
                &Actor::Resident,
                Command::Intake(IntakeCommand::FileConcern(Box::new(concern))),
            )
            .unwrap_err();
        assert!(matches!(
            refused,
            DomainError::Invalid {
                field: "reporter.name",
                ..
            }
        ));
    }

    #[test]
    fn a_resolved_case_can_no_longer_be_withdrawn() {
        let refused = given(&[
            filed(),
            triaged(),
            dispatched("env-office", 1),
            accepted("env-office"),
            resolved("env-office"),
        ])
        .when(
            &Actor::Resident,
            Command::Intake(IntakeCommand::WithdrawConcern { reason: None }),
        )
        .unwrap_err();
        assert_eq!(
            refused,
            DomainError::WrongState {
                action: "withdraw",
                status: Status::Resolved
            }
        );
    }

    #[test]
    fn a_withdrawn_case_is_final() {
        let mut scenario = given(&[filed()]);
        scenario.then_apply(
            &Actor::Resident,
            Command::Intake(IntakeCommand::WithdrawConcern {
                reason: Some("已自行解决".into()),
            }),
        );
        let refused = scenario
            .when(
                &council(),
                assignment(AssignmentCommand::TriageCase {
                    category: code("noise"),
                    priority: Priority::Low,
                }),
            )
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::WrongState {
                action: "triage",
                status: Status::Withdrawn
            }
        );
    }
}

mod assignment {
    use super::*;

    #[test]
    fn a_case_must_be_triaged_before_dispatch() {
        let refused = given(&[filed()])
            .when(&council(), dispatch("env-office"))
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::rule("triage the case (category and priority) before dispatching it")
        );
    }

    #[test]
    fn a_case_is_dispatched_to_one_unit_at_a_time() {
        let refused = given(&[filed(), triaged(), dispatched("env-office", 1)])
            .when(&council(), dispatch("urban-management"))
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::WrongState {
                action: "dispatch",
                status: Status::Dispatched
            }
        );
    }

    #[test]
    fn a_returned_dispatch_goes_back_to_triage_and_is_counted() {
        let mut scenario = given(&[filed(), triaged(), dispatched("env-office", 1)]);
        scenario.then_apply(
            &handler("env-office"),
            assignment(AssignmentCommand::ReturnDispatch {
                reason: "不属于本单位职责".into(),
            }),
        );
        assert_eq!(scenario.case.status, Some(Status::Triaged));
        assert_eq!(scenario.case.returns, 1);
        assert!(scenario.case.dispatch.is_none());

        let events = scenario.then_apply(&council(), dispatch("urban-management"));
        assert!(matches!(
            &events[..],
            [CaseEvent::CaseDispatched { dispatch: 2, .. }]
        ));
        scenario.then_apply(
            &handler("urban-management"),
            assignment(AssignmentCommand::ReturnDispatch {
                reason: "应由环保部门处理".into(),
            }),
        );
        assert_eq!(
            scenario.case.returns, 2,
            "bouncing between units is counted every time"
        );
    }

    #[test]
    fn only_the_unit_holding_the_case_may_accept_or_return_it() {
        let scenario = given(&[filed(), triaged(), dispatched("env-office", 1)]);
        let refused = scenario
            .when(
                &handler("urban-management"),
                assignment(AssignmentCommand::AcceptDispatch),
            )
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::rule("only the handling unit env-office may accept this case")
        );
        let refused = scenario
            .when(&operator(), assignment(AssignmentCommand::AcceptDispatch))
            .unwrap_err();
        assert!(
            matches!(refused, DomainError::NotPermitted { .. }),
            "{refused:?}"
        );
    }

    #[test]
    fn the_sla_clock_starts_at_dispatch_not_at_acceptance() {
        // Dispatched Monday 23 Nov 10:00; accepted two days later.
        let mut scenario = given(&[filed(), triaged()]).at(cst(2026, 11, 23, 10, 0));
        let events = scenario.when(&council(), dispatch("env-office")).unwrap();
        let [
            CaseEvent::CaseDispatched {
                response_due,
                resolution_due,
                ..
            },
        ] = events.as_slice()
        else {
            panic!("{events:?}");
        };
        // Complaint: contact within 1 working day, resolve within 13 working days.
        assert_eq!(*response_due, cst(2026, 11, 24, 10, 0));
        assert_eq!(*resolution_due, cst(2026, 12, 10, 10, 0));
        scenario.case = scenario
            .case
            .clone()
            .evolve(&events[0], cst(2026, 11, 23, 10, 0));
        let accepted = scenario
            .at(cst(2026, 11, 25, 15, 0))
            .when(
                &handler("env-office"),
                assignment(AssignmentCommand::AcceptDispatch),
            )
            .unwrap();
        assert_eq!(
            accepted,
            vec![CaseEvent::DispatchAccepted {
                unit: code("env-office")
            }]
        );
    }

    #[test]
    fn an_urgent_case_must_be_contacted_within_two_hours_and_resolved_within_a_day() {
        let urgent = CaseEvent::CaseTriaged {
            category: code("public-safety"),
            priority: Priority::Urgent,
        };
        // Saturday night: urgent clocks do not wait for working days.
        let events = given(&[filed(), urgent])
            .at(cst(2026, 11, 28, 23, 0))
            .when(&council(), dispatch("safety-office"))
            .unwrap();
        let [
            CaseEvent::CaseDispatched {
                response_due,
                resolution_due,
                ..
            },
        ] = events.as_slice()
        else {
            panic!("{events:?}");
        };
        assert_eq!(*response_due, cst(2026, 11, 29, 1, 0));
        assert_eq!(*resolution_due, cst(2026, 11, 29, 23, 0));
    }

    #[test]
    fn overdue_is_recorded_once_per_dispatch() {
        let mut scenario = given(&[filed(), triaged(), dispatched("env-office", 1)]);
        scenario = scenario.at(cst(2026, 11, 24, 9, 30)); // after the response deadline
        let events = scenario.then_apply(
            &Actor::System,
            assignment(AssignmentCommand::CheckDeadlines),
        );
        assert_eq!(
            events,
            vec![CaseEvent::ResponseOverdue {
                dispatch: 1,
                due: cst(2026, 11, 24, 9, 2)
            }]
        );
        let again = scenario
            .when(
                &Actor::System,
                assignment(AssignmentCommand::CheckDeadlines),
            )
            .unwrap();
        assert!(again.is_empty(), "a second tick writes nothing: {again:?}");
    }

    #[test]
    fn a_timer_that_runs_late_still_records_a_late_contact() {
        // The service was down over the deadline; the unit contacted the resident late.
        let mut scenario = given(&[
            filed(),
            triaged(),
            dispatched("env-office", 1),
            accepted("env-office"),
        ]);
        scenario.now = cst(2026, 11, 24, 15, 0);
        scenario.record(CaseEvent::ResidentContacted {
            unit: code("env-office"),
            via: ContactVia::Phone,
            note: None,
        });
        let events = scenario
            .when(
                &Actor::System,
                assignment(AssignmentCommand::CheckDeadlines),
            )
            .unwrap();
        assert_eq!(
            events,
            vec![CaseEvent::ResponseOverdue {
                dispatch: 1,
                due: cst(2026, 11, 24, 9, 2)
            }]
        );
    }

    #[test]
    fn a_contact_in_time_stops_the_response_clock() {
        let mut scenario = given(&[
            filed(),
            triaged(),
            dispatched("env-office", 1),
            accepted("env-office"),
        ]);
        scenario.record(CaseEvent::ResidentContacted {
            unit: code("env-office"),
            via: ContactVia::Visit,
            note: None,
        });
        let events = scenario
            .at(cst(2026, 11, 30, 9, 0))
            .when(
                &Actor::System,
                assignment(AssignmentCommand::CheckDeadlines),
            )
            .unwrap();
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn only_the_system_runs_the_deadline_timer() {
        let refused = given(&[filed(), triaged(), dispatched("env-office", 1)])
            .when(&council(), assignment(AssignmentCommand::CheckDeadlines))
            .unwrap_err();
        assert!(matches!(refused, DomainError::NotPermitted { .. }));
    }

    #[test]
    fn an_extension_must_move_the_deadline_later() {
        let scenario = given(&[filed(), triaged(), dispatched("env-office", 1)]);
        let refused = scenario
            .when(
                &council(),
                assignment(AssignmentCommand::ExtendDeadline {
                    resolution_due: cst(2026, 12, 1, 9, 0),
                    reason: "需协调多部门".into(),
                }),
            )
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::rule("an extension must move the resolution deadline later")
        );
        let events = scenario
            .when(
                &council(),
                assignment(AssignmentCommand::ExtendDeadline {
                    resolution_due: cst(2026, 12, 20, 9, 0),
                    reason: "需协调多部门".into(),
                }),
            )
            .unwrap();
        assert_eq!(events.len(), 1);
    }

    #[test]
    fn a_case_cannot_be_merged_into_itself() {
        let scenario = given(&[filed()]);
        let own_id = scenario.case.id;
        let refused = scenario
            .when(
                &council(),
                assignment(AssignmentCommand::MergeDuplicate { into: own_id }),
            )
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::rule("a case cannot be merged into itself")
        );
    }

    #[test]
    fn a_merged_duplicate_follows_its_primary_and_takes_no_more_commands() {
        let mut scenario = given(&[filed()]);
        let primary = CaseId::from_uuid(uuid::Uuid::from_u128(
            0x0193_6a00_0000_7000_8000_0000_0000_0002,
        ));
        scenario.then_apply(
            &council(),
            assignment(AssignmentCommand::MergeDuplicate { into: primary }),
        );
        assert_eq!(scenario.case.merged_into, Some(primary));
        let refused = scenario
            .when(&council(), dispatch("env-office"))
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::WrongState {
                action: "dispatch",
                status: Status::Merged
            }
        );
    }

    #[test]
    fn only_a_case_not_yet_dispatched_may_be_rejected() {
        let refused = given(&[filed(), triaged(), dispatched("env-office", 1)])
            .when(
                &council(),
                assignment(AssignmentCommand::RejectConcern {
                    reason: "不属于受理范围".into(),
                }),
            )
            .unwrap_err();
        assert!(matches!(refused, DomainError::WrongState { .. }));
    }
}

mod resolution {
    use super::*;

    fn in_progress() -> Scenario {
        given(&[
            filed(),
            triaged(),
            dispatched("env-office", 1),
            accepted("env-office"),
        ])
    }

    #[test]
    fn only_the_unit_holding_the_case_may_contact_progress_and_resolve() {
        let scenario = in_progress();
        for command in [
            ResolutionCommand::RecordContact(Contact {
                via: ContactVia::Phone,
                note: None,
            }),
            ResolutionCommand::RecordProgress {
                note: "已现场查看".into(),
            },
            ResolutionCommand::ResolveCase {
                outcome: Outcome::Resolved,
                summary: "已处理".into(),
            },
        ] {
            let refused = scenario
                .when(&handler("urban-management"), resolution(command.clone()))
                .unwrap_err();
            assert_eq!(
                refused,
                DomainError::rule(format!(
                    "only the handling unit env-office may {} this case",
                    resolution(command.clone()).action()
                ))
            );
            let refused = scenario
                .when(&council(), resolution(command.clone()))
                .unwrap_err();
            assert!(
                matches!(refused, DomainError::NotPermitted { .. }),
                "{refused:?}"
            );
            assert!(
                scenario
                    .when(&handler("env-office"), resolution(command))
                    .is_ok()
            );
        }
    }

    #[test]
    fn a_dispatch_must_be_accepted_before_work_is_recorded() {
        let refused = given(&[filed(), triaged(), dispatched("env-office", 1)])
            .when(
                &handler("env-office"),
                resolution(ResolutionCommand::RecordContact(Contact {
                    via: ContactVia::Phone,
                    note: None,
                })),
            )
            .unwrap_err();
        assert!(matches!(refused, DomainError::WrongState { .. }));
    }

    #[test]
    fn only_the_resident_or_an_operator_may_give_feedback() {
        let mut scenario = in_progress();
        scenario.record(resolved("env-office"));
        let rate = || {
            resolution(ResolutionCommand::GiveFeedback {
                satisfaction: Satisfaction::Satisfied,
                resolved: true,
                comment: None,
            })
        };
        assert!(scenario.when(&Actor::Resident, rate()).is_ok());
        let by_call = scenario.when(&operator(), rate()).unwrap();
        assert!(matches!(
            &by_call[..],
            [CaseEvent::FeedbackGiven {
                by_operator: true,
                ..
            }]
        ));
        for actor in [handler("env-office"), council()] {
            let refused = scenario.when(&actor, rate()).unwrap_err();
            assert!(
                matches!(refused, DomainError::NotPermitted { .. }),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn feedback_is_given_once_per_resolution() {
        let mut scenario = in_progress();
        scenario.record(resolved("env-office"));
        scenario.record(feedback(Satisfaction::Satisfied));
        let refused = scenario
            .when(
                &Actor::Resident,
                resolution(ResolutionCommand::GiveFeedback {
                    satisfaction: Satisfaction::Unsatisfied,
                    resolved: false,
                    comment: None,
                }),
            )
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::rule("feedback has already been given for this resolution")
        );
    }

    #[test]
    fn an_unsatisfied_rating_reopens_the_case_to_the_same_unit_with_a_new_deadline() {
        let mut scenario = in_progress();
        scenario.record(resolved("env-office"));
        scenario.record(feedback(Satisfaction::Unsatisfied));
        let events = scenario
            .at(cst(2026, 11, 27, 16, 0)) // a Friday
            .when(
                &Actor::Resident,
                resolution(ResolutionCommand::ReopenCase {
                    reason: "噪音仍在继续".into(),
                }),
            )
            .unwrap();
        assert_eq!(
            events,
            vec![CaseEvent::CaseReopened {
                reason: "噪音仍在继续".into(),
                unit: code("env-office"),
                dispatch: 2,
                response_due: cst(2026, 11, 30, 16, 0),
                resolution_due: cst(2026, 12, 16, 16, 0),
            }]
        );
    }

    #[test]
    fn a_satisfied_case_is_not_reopened() {
        let mut scenario = in_progress();
        scenario.record(resolved("env-office"));
        scenario.record(feedback(Satisfaction::BasicallySatisfied));
        let refused = scenario
            .when(
                &Actor::Resident,
                resolution(ResolutionCommand::ReopenCase {
                    reason: "再看看".into(),
                }),
            )
            .unwrap_err();
        assert_eq!(
            refused,
            DomainError::rule("only a case rated unsatisfied may be reopened")
        );
    }

    #[test]
    fn a_resolved_case_closes_itself_when_the_feedback_window_passes() {
        let mut scenario = in_progress();
        scenario.record(resolved("env-office"));
        let resolved_at = scenario.now;
        let tick = || resolution(ResolutionCommand::CheckFeedbackWindow);
        let early = scenario
            .clone_at(resolved_at + Duration::days(6))
            .when(&Actor::System, tick())
            .unwrap();
        assert!(early.is_empty());
        let closed = scenario
            .clone_at(resolved_at + Duration::days(7))
            .when(&Actor::System, tick())
            .unwrap();
        assert!(
            matches!(
                &closed[..],
                [CaseEvent::CaseClosed {
                    automatic: true,
                    ..
                }]
            ),
            "{closed:?}"
        );
    }

    impl Scenario {
        fn clone_at(&self, now: DateTime<Utc>) -> Scenario {
            Scenario {
                case: self.case.clone(),
                now,
                sla: self.sla.clone(),
                calendar: self.calendar.clone(),
            }
        }
    }
}

mod calendar {
    use super::*;

    #[test]
    fn a_deadline_skips_the_weekend() {
        // Friday 27 Nov 16:00 + 1 working day = Monday 30 Nov 16:00.
        assert_eq!(
            calendar().add_working_days(cst(2026, 11, 27, 16, 0), 1),
            cst(2026, 11, 30, 16, 0)
        );
    }

    #[test]
    fn a_clock_started_at_the_weekend_runs_from_monday_morning() {
        assert_eq!(
            calendar().add_working_days(cst(2026, 11, 28, 15, 0), 1),
            cst(2026, 12, 1, 0, 0)
        );
    }

    #[test]
    fn a_deadline_skips_a_public_holiday() {
        // Wednesday 30 Sep + 1 working day: 1-7 Oct is National Day, 8 Oct is a Thursday.
        assert_eq!(
            calendar().add_working_days(cst(2026, 9, 30, 10, 0), 1),
            cst(2026, 10, 8, 10, 0)
        );
    }

    #[test]
    fn a_make_up_working_day_counts() {
        // Friday 9 Oct + 1 working day = Saturday 10 Oct, a make-up working day (调休).
        assert_eq!(
            calendar().add_working_days(cst(2026, 10, 9, 10, 0), 1),
            cst(2026, 10, 10, 10, 0)
        );
        // Sunday 20 Sep is a working day too: a clock started then runs from that moment.
        assert_eq!(
            calendar().add_working_days(cst(2026, 9, 20, 9, 0), 1),
            cst(2026, 9, 21, 9, 0)
        );
    }

    #[test]
    fn thirteen_working_days_cross_spring_festival() {
        // Monday 9 Feb 2026 + 13 working days: 10-13 Feb (4), Sat 14 Feb make-up (5),
        // 15-23 Feb off, 24-27 Feb (9), Sat 28 Feb make-up (10), 2-4 Mar (13).
        assert_eq!(
            calendar().add_working_days(cst(2026, 2, 9, 11, 0), 13),
            cst(2026, 3, 4, 11, 0)
        );
    }

    #[test]
    fn a_day_listed_as_both_holiday_and_working_day_is_refused() {
        let mut calendar = Calendar::china();
        let text = "year = 2026\n[[holiday]]\nname = \"x\"\noff = [\"2026-01-05\"]\nwork = [\"2026-01-05\"]\n";
        assert!(matches!(
            calendar.load_year(text),
            Err(CalendarError::Contradiction { .. })
        ));
    }

    #[test]
    fn the_shipped_calendar_covers_this_year() {
        assert!(calendar().covers(2026));
    }
}

mod events {
    use super::*;

    #[test]
    fn every_event_round_trips_through_its_stored_form() {
        let events = [
            filed(),
            triaged(),
            dispatched("env-office", 1),
            resolved("env-office"),
            feedback(Satisfaction::Unsatisfied),
        ];
        for event in events {
            let stored = event.to_payload().to_string();
            let back = CaseEvent::from_stored(event.event_type(), event.schema_version(), &stored)
                .unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn a_version_one_concern_filed_is_upcast_with_its_reporter_nested() {
        let v1 = serde_json::json!({
            "tracking_code": "SY-2601-7K3Q",
            "secret_digest": "ab".repeat(32),
            "channel": "hotline",
            "community": "shilong",
            "title": "路灯不亮",
            "description": "石龙路口路灯坏了一周",
            "reporter_name": "张先生",
            "reporter_phone": "13900001111",
            "anonymous": false,
            "filed_at": "2026-01-10T02:00:00Z"
        });
        let event = CaseEvent::from_stored("ConcernFiled", 1, &v1.to_string()).unwrap();
        let CaseEvent::ConcernFiled {
            reporter,
            confidential,
            ..
        } = event
        else {
            panic!()
        };
        assert_eq!(
            reporter,
            Some(Reporter {
                name: Some("张先生".into()),
                phone: Some("13900001111".into()),
                email: None
            })
        );
        assert!(!confidential);
    }

    #[test]
    fn an_unknown_schema_version_is_a_decode_error_not_a_guess() {
        let refused = CaseEvent::from_stored("CaseTriaged", 7, "{}").unwrap_err();
        assert_eq!(refused.schema_version, 7);
    }

    #[test]
    fn a_payload_that_is_not_json_is_a_decode_error() {
        let refused = CaseEvent::from_stored("CaseTriaged", 1, "{not json").unwrap_err();
        assert_eq!(refused.event_type, "CaseTriaged");
        let refused = CaseEvent::from_stored("ConcernFiled", 1, "[1,").unwrap_err();
        assert!(refused.reason.contains("not JSON"), "{refused}");
    }

    #[test]
    fn a_tracking_code_is_short_and_unambiguous() {
        let code = TrackingCode::generate(
            "sy",
            cst(2026, 11, 27, 10, 0),
            Calendar::china().offset(),
            [0, 1, 2, 250],
        );
        assert!(code.as_str().starts_with("SY-2611-"));
        assert_eq!(code.as_str().len(), "SY-2611-7K3Q".len());
        assert_eq!(
            TrackingCode::parse(&code.as_str().to_lowercase()).unwrap(),
            code
        );
        assert!(TrackingCode::parse("SY-2611-0O1I").is_err());
    }
}
