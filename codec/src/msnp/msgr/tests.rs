//! Unit tests of the MSGR documents.

use proptest::prelude::*;

use super::*;

// Seed 000 with the wiki's rendering undone: `<content>` escaped again, and the group
// thread id that the page's e-mail obfuscation turned into `[email protected]` restored
// from the `<messagessyncstate>` hex (docs/protocols/msnp.md §5.5).
const THREAD: &str = "19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype";

const RECENT_REQUEST: &str = "<recentconversations><start>1428249688000</start><pagesize>100</pagesize></recentconversations>";

const RECENT_RESPONSE: &str = r#"<recentconversations-response>
<conversations>
<conversation>
<id>8:live:user1</id>
<version>1430489866083</version>
<properties>
<consumptionhorizon>1430404148000;1430489865000;10156429743073042633</consumptionhorizon>
</properties>
<options />
<messages>
<message>
<messageid>1430300402349</messageid>
<originalarrivaltime>2015-04-29T09:36:41.592Z</originalarrivaltime>
<from>8:live:user1;epid={00155193-decb-dc89-95e0-43bd987ed463}</from>
<messagetype>Text</messagetype>
<content>my message</content>
<clientmessageid>5120743105835678321</clientmessageid>
<composetime>2015-04-29T09:36:41.592Z</composetime>
</message>
</messages>
</conversation>
<conversation>
<id>8:live:user2</id>
<version>1430485886314</version>
<properties>
<consumptionhorizon>1429961225000;1429984818000;3932865346765530604</consumptionhorizon>
</properties>
<options />
<messages>
<message>
<messageid>1430300404679</messageid>
<originalarrivaltime>2015-05-01T13:11:26.178Z</originalarrivaltime>
<from>8:live:user2;epid={ee155593-eeca-da89-95f0-46bd987ed489}</from>
<messagetype>RichText</messagetype>
<content>hi there! &lt;ss type="smile"&gt;:)&lt;/ss&gt;</content>
<clientmessageid>5137215689534566412</clientmessageid>
<composetime>2015-05-01T13:11:26.178Z</composetime>
</message>
</messages>
</conversation>
<conversation>
<id>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</id>
<version>1430775110903</version>
<properties />
<options />
<messages>
<message>
<messageid>1430768120706</messageid>
<originalarrivaltime>2015-05-04T21:31:50.903Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/DeleteMember</messagetype>
<content>&lt;deletemember&gt;&lt;eventtime&gt;1430775111792&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;target&gt;8:live:user2&lt;/target&gt;&lt;/deletemember&gt;</content>
<composetime>2015-05-04T21:31:50.903Z</composetime>
</message>
</messages>
<thread>
<lastjoinat>1430661534162</lastjoinat>
<version>1430775110903</version>
<topic>live:user1, live:user2</topic>
</thread>
</conversation>
</conversations>
<syncstate>12406b7d754c01000000000000000000003b4b87c6d6cc4d250b0000006c656563686572313333378bc4860a410100000100000000000000007f33fc0f4d01000001406b7d754c0100007f33fc0f4d0100000100000000000000007f33fc0f4d01000001406b7d754c0100007f33fc0f4d0100000000000000000000</syncstate>
<hasmore>False</hasmore>
</recentconversations-response>
"#;

const MBC_REQUEST: &str = "<messagesbyconversation>\n<id>8:live:user1</id>\n<start>1428249689000</start>\n<pagesize>100</pagesize>\n</messagesbyconversation>";

const MBC_REQUEST_PAGED: &str = "<messagesbyconversation>\n<id>8:live:user1</id>\n<start>1428249689000</start>\n<messagessyncstate>123000000031393a3938383063313965643139623463306639313930346636393739656261306235407468726561642e736b79706501bc31d0194d0100000e0fd4194d01000000</messagessyncstate>\n<pagesize>100</pagesize>\n</messagesbyconversation>";

const MBC_RESPONSE: &str = r#"<messagesbyconversation-response>
<id>8:live:user1</id>
<messages>
<message>
<messageid>1429962782814</messageid>
<originalarrivaltime>2015-04-25T11:53:02.852Z</originalarrivaltime>
<from>8:live:user1;epid={00155193-decb-dc89-95e0-43bd987ed463}</from>
<messagetype>Text</messagetype>
<content>&lt;hellooo&gt;</content>
<clientmessageid>6141646244149221670</clientmessageid>
<composetime>2015-04-25T11:53:02.852Z</composetime>
</message>
<message>
<messageid>1429961236525</messageid>
<originalarrivaltime>2015-04-25T11:27:16.961Z</originalarrivaltime>
<from>8:live:user2;epid={ee155593-eeca-da89-95f0-46bd987ed489}</from>
<messagetype>RichText</messagetype>
<content>hi there! &lt;ss type="smile"&gt;:)&lt;/ss&gt;</content>
<clientmessageid>17625830632587334299</clientmessageid>
<composetime>2015-04-25T11:27:16.961Z</composetime>
</message>
</messages>
<messagessyncstate>123000000031393a3938383063313965643139623463306639313930346636393739656261306235407468726561642e736b79706501bc31d0194d0100000e0fd4194d01000000</messagessyncstate>
<hasmore>False</hasmore>
</messagesbyconversation-response>"#;

const MBC_RESPONSE_GROUP: &str = r#"<messagesbyconversation-response>
<id>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</id>
<messages>
<message>
<messageid>1430757437454</messageid>
<originalarrivaltime>2015-05-03T12:50:37.454Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/DeleteMember</messagetype>
<content>&lt;deletemember&gt;&lt;eventtime&gt;1430657438265&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;target&gt;8:live:user1&lt;/target&gt;&lt;/deletemember&gt;</content>
<composetime>2015-05-03T12:50:37.454Z</composetime>
</message>
<message>
<messageid>1430757238975</messageid>
<originalarrivaltime>2015-05-03T12:47:18.975Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/TopicUpdate</messagetype>
<content>&lt;topicupdate&gt;&lt;eventtime&gt;1430657239224&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;value&gt;And this is the new chat topic&lt;/value&gt;&lt;/topicupdate&gt;</content>
<composetime>2015-05-03T12:47:18.975Z</composetime>
</message>
<message>
<messageid>1430757193953</messageid>
<originalarrivaltime>2015-05-03T12:46:33.953Z</originalarrivaltime>
<from>19:9880c19ed19b4c0f91904f6979eba0b5@thread.skype</from>
<messagetype>ThreadActivity/AddMember</messagetype>
<content>&lt;addmember&gt;&lt;eventtime&gt;1430657193953&lt;/eventtime&gt;&lt;initiator&gt;8:live:user1&lt;/initiator&gt;&lt;target&gt;8:live:user2&lt;/target&gt;&lt;/addmember&gt;</content>
<composetime>2015-05-03T12:46:33.953Z</composetime>
</message>
</messages>
<messagessyncstate>123000000031393a3938383063313965643139623463306639313930346636393739656261306235407468726561642e736b79706501bc31d0194d0100000e0fd4194d01000000</messagessyncstate>
<hasmore>False</hasmore>
</messagesbyconversation-response>"#;

// Seed 001 (the uic is elided in the seed itself).
const USER_WEB: &str = "<user><uic>AAAAABnpOEW...vLV7w==</uic><web-compact-ticket /></user>";
// docs/protocols/msnp.md §3.2, MIR's shape.
const USER_MIR: &str = "<user><ssl-compact-ticket>t=EwC4Aq1DBAAU&amp;p=</ssl-compact-ticket><uic>AAAA</uic><id>live:user1</id><alias>user1</alias></user>";
const CONNECT: &str = "<connect><ver>2</ver><agent><os>winnt</os><osVer>5.2</osVer><proc>x86</proc><lcid>en-us</lcid></agent></connect>";

fn err<T: core::fmt::Debug>(r: Result<T, Error>) -> (ErrorKind, usize) {
    match r {
        Ok(v) => panic!("accepted: {v:?}"),
        Err(e) => (e.kind(), e.offset()),
    }
}

fn encoded(f: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    f(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn msgr_seed000_recent_request() {
    let r = RecentConversations::parse(RECENT_REQUEST).unwrap();
    assert_eq!(
        r,
        RecentConversations {
            start: 1428249688000,
            page_size: 100,
            sync_state: None
        }
    );
    assert_eq!(encoded(|o| r.encode(o)), RECENT_REQUEST);
}

#[test]
fn msgr_seed000_recent_response() {
    let r = RecentConversationsResponse::parse(RECENT_RESPONSE).unwrap();
    assert_eq!(r.conversations.len(), 3);
    assert!(!r.has_more);
    assert!(r.sync_state.starts_with("12406b7d754c") && r.sync_state.len() == 248);

    let c = &r.conversations[0];
    assert_eq!((c.id.as_ref(), c.version), ("8:live:user1", 1430489866083));
    let h = c.consumption_horizon.as_ref().unwrap();
    assert_eq!(
        h.fields(),
        Some((1430404148000, 1430489865000, "10156429743073042633"))
    );
    assert!(c.thread.is_none());
    assert_eq!(
        c.messages,
        [Message {
            message_id: 1430300402349,
            original_arrival_time: "2015-04-29T09:36:41.592Z".into(),
            from: "8:live:user1;epid={00155193-decb-dc89-95e0-43bd987ed463}".into(),
            message_type: "Text".into(),
            content: "my message".into(),
            client_message_id: Some("5120743105835678321".into()),
            compose_time: "2015-04-29T09:36:41.592Z".into(),
        }]
    );
    assert!(matches!(c.messages[0].content, Cow::Borrowed(_)));

    let m = &r.conversations[1].messages[0];
    assert_eq!(m.content, r#"hi there! <ss type="smile">:)</ss>"#);
    assert_eq!(m.message_type, "RichText");

    let g = &r.conversations[2];
    assert_eq!(g.id, THREAD);
    assert_eq!(g.consumption_horizon, None);
    assert_eq!(
        g.thread,
        Some(Thread {
            last_join_at: 1430661534162,
            version: 1430775110903,
            topic: Some("live:user1, live:user2".into())
        })
    );
    let m = &g.messages[0];
    assert_eq!(
        (m.from.as_ref(), m.client_message_id.as_ref()),
        (THREAD, None)
    );
    assert_eq!(
        m.thread_activity().unwrap().unwrap(),
        ThreadActivity::DeleteMember(MemberChange {
            event_time: 1430775111792,
            initiator: "8:live:user1".into(),
            target: "8:live:user2".into()
        })
    );
    assert!(r.conversations[0].messages[0].thread_activity().is_none());
    assert_round_trips(&Document::RecentConversationsResponse(r));
}

#[test]
fn msgr_seed000_messages_by_conversation() {
    let q = MessagesByConversation::parse(MBC_REQUEST).unwrap();
    assert_eq!(
        (q.id.as_ref(), q.start, q.page_size),
        ("8:live:user1", 1428249689000, 100)
    );
    assert_eq!(q.messages_sync_state, None);
    let p = MessagesByConversation::parse(MBC_REQUEST_PAGED).unwrap();
    assert_eq!(p.messages_sync_state.as_deref().map(str::len), Some(142));
    assert_eq!(
        MessagesByConversation {
            messages_sync_state: None,
            ..p.clone()
        },
        q
    );
    assert_round_trips(&Document::MessagesByConversation(p));

    let r = MessagesByConversationResponse::parse(MBC_RESPONSE).unwrap();
    assert_eq!(r.id, "8:live:user1");
    assert_eq!(r.messages.len(), 2);
    assert_eq!(r.messages[0].content, "<hellooo>");
    assert_eq!(
        r.messages[1].client_message_id.as_deref(),
        Some("17625830632587334299")
    );
    assert!(
        r.messages[0].message_id > r.messages[1].message_id,
        "newest first"
    );
    assert!(!r.has_more);
    assert_round_trips(&Document::MessagesByConversationResponse(r));
}

#[test]
fn msgr_seed000_group_history() {
    let r = MessagesByConversationResponse::parse(MBC_RESPONSE_GROUP).unwrap();
    assert_eq!(r.id, THREAD);
    let activities: Vec<_> = r
        .messages
        .iter()
        .map(|m| m.thread_activity().unwrap().unwrap())
        .collect();
    assert_eq!(
        activities,
        [
            ThreadActivity::DeleteMember(MemberChange {
                event_time: 1430657438265,
                initiator: "8:live:user1".into(),
                target: "8:live:user1".into()
            }),
            ThreadActivity::TopicUpdate(TopicUpdate {
                event_time: 1430657239224,
                initiator: "8:live:user1".into(),
                value: "And this is the new chat topic".into()
            }),
            ThreadActivity::AddMember(MemberChange {
                event_time: 1430657193953,
                initiator: "8:live:user1".into(),
                target: "8:live:user2".into()
            }),
        ]
    );
    for (m, a) in r.messages.iter().zip(&activities) {
        assert_eq!(
            m.message_type
                .strip_prefix("ThreadActivity/")
                .map(str::to_lowercase)
                .as_deref(),
            Some(a.root_name())
        );
    }
}

#[test]
fn msgr_seed001_user_and_connect() {
    let u = User::parse(USER_WEB).unwrap();
    assert_eq!(u.uic.as_deref(), Some("AAAAABnpOEW...vLV7w=="));
    assert_eq!(u.web_compact_ticket.as_deref(), Some(""));
    assert_eq!(
        (
            u.ssl_compact_ticket.as_ref(),
            u.id.as_ref(),
            u.alias.as_ref()
        ),
        (None, None, None)
    );
    assert_eq!(encoded(|o| u.encode(o)), USER_WEB);

    let u = User::parse(USER_MIR).unwrap();
    assert_eq!(u.ssl_compact_ticket.as_deref(), Some("t=EwC4Aq1DBAAU&p="));
    assert_eq!(
        (u.id.as_deref(), u.alias.as_deref()),
        (Some("live:user1"), Some("user1"))
    );
    assert_eq!(u.web_compact_ticket, None);
    assert_eq!(encoded(|o| u.encode(o)), USER_MIR);

    let c = Connect::parse(CONNECT).unwrap();
    assert_eq!(c.ver, 2);
    let a = c.agent.as_ref().unwrap();
    assert_eq!(
        (
            a.os.as_deref(),
            a.os_ver.as_deref(),
            a.processor.as_deref(),
            a.lcid.as_deref()
        ),
        (Some("winnt"), Some("5.2"), Some("x86"), Some("en-us"))
    );
    assert_eq!(encoded(|o| c.encode(o)), CONNECT);
}

#[test]
fn msgr_bind_as_mir_and_the_scenarios_send_it() {
    // docs/protocols/msnp.md §3.3; scenarios/msnp/001-login.yaml.
    let text = "<msgr><ver>2</ver><client><name>imspec</name><ver>1.0</ver></client><epid>{00000000-0000-0000-0000-000000000001}</epid></msgr>";
    let b = Bind::parse(text).unwrap();
    assert_eq!(b.ver, 2);
    assert_eq!(b.client_name.as_deref(), Some("imspec"));
    assert_eq!(b.client_ver.as_deref(), Some("1.0"));
    assert_eq!(
        b.epid.as_deref(),
        Some("{00000000-0000-0000-0000-000000000001}")
    );
    let mut out = Vec::new();
    b.encode(&mut out);
    assert_eq!(out, text.as_bytes());
    assert_eq!(parse_document(text).map(|d| d.root_name()), Ok("msgr"));
    assert_eq!(
        Bind::parse("<msgr><epid>x</epid></msgr>").map_err(|e| e.kind()),
        Err(ErrorKind::Missing)
    );
}

#[test]
fn msgr_contact_list_and_group_thread_as_docs_give_them() {
    // docs/protocols/msnp.md §3.4, as MIR sends it (`<s …/>` without the space).
    let ml = r#"<ml l="1"><skp><c n="name" t="8"><s l="3" n="IM"/></c></skp></ml>"#;
    let list = ContactList::parse(ml).unwrap();
    assert_eq!(list.list.as_deref(), Some("1"));
    let [c] = list.contacts.as_slice() else {
        panic!("{list:?}")
    };
    assert_eq!((c.name.as_ref(), c.network.as_deref()), ("name", Some("8")));
    assert_eq!(c.services[0].name, "IM");
    assert_eq!(c.services[0].list.as_deref(), Some("3"));
    assert_eq!(c.mri(), "8:name");
    assert_round_trips(&Document::ContactList(list));
    // Every `<skp>` group is read; unknown groups, children and attributes are skipped; `n`
    // may be a whole mri; `t` defaults to Skype; attribute references are unescaped.
    let list = ContactList::parse(
        r#"<ml><d n="x"><c n="no"/></d><skp><c n='8:a&amp;b' x="1"><y/></c></skp><skp><c n="c"/></skp></ml>"#,
    )
    .unwrap();
    let mris: Vec<String> = list.contacts.iter().map(Contact::mri).collect();
    assert_eq!(mris, ["8:a&b", "8:c"]);
    assert_eq!(list.list, None);

    let thread = format!(
        "<thread><id>{THREAD}</id><members><member><mri>8:alice</mri><role>Admin</role></member><member><mri>8:bob</mri></member></members></thread>"
    );
    let t = GroupThread::parse(&thread).unwrap();
    assert_eq!(t.id, THREAD);
    let members: Vec<_> = t
        .members
        .iter()
        .map(|m| (m.mri.as_ref(), m.role.as_deref()))
        .collect();
    assert_eq!(members, [("8:alice", Some("Admin")), ("8:bob", None)]);
    assert_eq!(encoded(|o| t.encode(o)), thread);
    assert_eq!(parse_document(&thread).map(|d| d.root_name()), Ok("thread"));
    // `DEL MSGR\THREAD` names only the thread.
    let bare = GroupThread::parse("<thread><id>19:x</id></thread>").unwrap();
    assert!(bare.members.is_empty());

    assert_eq!(
        err(GroupThread::parse("<thread><id>a</id><id>b</id></thread>")),
        (ErrorKind::Unexpected, 18)
    );
    assert_eq!(
        err(GroupThread::parse(
            "<thread><members><member><role>x</role></member></members><id>a</id></thread>"
        )),
        (ErrorKind::Missing, 39)
    );
    assert_eq!(
        err(ContactList::parse("<ml><skp><s n=\"IM\"/><c/></skp></ml>")),
        (ErrorKind::Missing, 20)
    );
    let one = Limits {
        max_entries: 1,
        ..Limits::default()
    };
    assert_eq!(
        err(ContactList::parse_with(
            "<ml><skp><c n=\"a\"/><c n=\"b\"/></skp></ml>",
            &one
        )),
        (ErrorKind::LimitExceeded, 19)
    );
    assert_eq!(
        err(GroupThread::parse_with(&thread, &one)),
        (
            ErrorKind::LimitExceeded,
            thread.match_indices("<member>").nth(1).unwrap().0
        )
    );
}

#[test]
fn msgr_wait_as_the_png_reply_carries_it() {
    let w = Wait::parse("<wait>50</wait>").unwrap();
    assert_eq!(w.seconds, 50);
    assert_eq!(encoded(|o| w.encode(o)), "<wait>50</wait>");
    assert_eq!(Wait::parse("<wait> 7\n</wait>").map(|w| w.seconds), Ok(7));
    assert_eq!(
        err(Wait::parse("<wait>soon</wait>")),
        (ErrorKind::Unexpected, 6)
    );
    assert_eq!(
        err(Wait::parse("<wait>4294967296</wait>")),
        (ErrorKind::Unexpected, 6)
    );
    assert_eq!(
        parse_document("<wait>1</wait>"),
        Ok(Document::Wait(Wait { seconds: 1 }))
    );
}

#[test]
fn msgr_document_dispatch() {
    let cases = [
        (RECENT_REQUEST, "recentconversations"),
        (RECENT_RESPONSE, "recentconversations-response"),
        (MBC_REQUEST, "messagesbyconversation"),
        (MBC_RESPONSE, "messagesbyconversation-response"),
        (USER_WEB, "user"),
        (CONNECT, "connect"),
        (
            "<topicupdate><eventtime>1</eventtime><initiator>8:a</initiator><value>t</value></topicupdate>",
            "topicupdate",
        ),
    ];
    for (text, root) in cases {
        let doc = parse_document(text).unwrap();
        assert_eq!(doc.root_name(), root);
        assert_round_trips(&doc);
    }
    assert_eq!(
        err(parse_document("<?xml version=\"1.0\"?><unknown/>")),
        (ErrorKind::Unexpected, 21)
    );
    assert_eq!(
        err(RecentConversations::parse(MBC_REQUEST)),
        (ErrorKind::Unexpected, 0)
    );
    assert_eq!(
        err(ThreadActivity::parse(USER_WEB)),
        (ErrorKind::Unexpected, 0)
    );
}

#[test]
fn msgr_role_update_shapes() {
    let text = "<roleupdate><eventtime>5</eventtime><initiator>8:a</initiator><target><id>8:b</id><role>Admin</role></target></roleupdate>";
    let a = ThreadActivity::parse(text).unwrap();
    assert_eq!(
        a,
        ThreadActivity::RoleUpdate(RoleUpdate {
            event_time: 5,
            initiator: "8:a".into(),
            target: "8:b".into(),
            role: "Admin".into()
        })
    );
    assert_eq!(encoded(|o| a.encode(o)), text);
    let mri = text.replace("<id>8:b</id>", "<mri>8:b</mri>");
    assert_eq!(ThreadActivity::parse(&mri).unwrap(), a);
    let both = text.replace("<id>8:b</id>", "<id>8:b</id><mri>8:c</mri>");
    let at = both.find("<mri>").unwrap();
    assert_eq!(
        err(ThreadActivity::parse(&both)),
        (ErrorKind::Unexpected, at)
    );
    let no_role = "<roleupdate><eventtime>5</eventtime><initiator>8:a</initiator><target><mri>8:b</mri></target></roleupdate>";
    let at = no_role.find("</target>").unwrap();
    assert_eq!(
        err(ThreadActivity::parse(no_role)),
        (ErrorKind::Missing, at)
    );
}

#[test]
fn msgr_hasmore_any_case_and_unknown_children() {
    let doc = |has_more: &str| {
        format!(
            "<messagesbyconversation-response><id>x</id><future a='1'><deep/></future><messages/><messagessyncstate>s</messagessyncstate><hasmore> {has_more} </hasmore></messagesbyconversation-response>"
        )
    };
    for (text, want) in [
        ("True", true),
        ("true", true),
        ("FALSE", false),
        ("false", false),
    ] {
        let text = doc(text);
        let r = MessagesByConversationResponse::parse(&text).unwrap();
        assert_eq!(r.has_more, want);
        assert!(r.messages.is_empty());
    }
    let bad = doc("yes");
    let at = bad.find("<hasmore>").unwrap() + "<hasmore>".len();
    assert_eq!(
        err(MessagesByConversationResponse::parse(&bad)),
        (ErrorKind::Unexpected, at)
    );
    let r = MessagesByConversationResponse {
        id: "x".into(),
        messages: vec![],
        messages_sync_state: "s".into(),
        has_more: true,
    };
    assert!(encoded(|o| r.encode(o)).contains("<hasmore>True</hasmore>"));
}

#[test]
fn msgr_lenient_unescaped_content() {
    // Seed 000 as the wiki renders it: markup inside <content>.
    let raw = RECENT_RESPONSE
        .replace(
            "hi there! &lt;ss type=\"smile\"&gt;:)&lt;/ss&gt;",
            "hi there! <ss type=\"smile\">:)</ss>",
        )
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let at = raw.find("<ss").unwrap();
    assert_eq!(
        err(RecentConversationsResponse::parse(&raw)),
        (ErrorKind::Unexpected, at)
    );
    let lenient = RecentConversationsResponse::parse_with(&raw, &Limits::lenient()).unwrap();
    assert_eq!(
        lenient,
        RecentConversationsResponse::parse(RECENT_RESPONSE).unwrap()
    );
    // Encoding always escapes.
    let out = encoded(|o| lenient.encode(o));
    assert!(out.contains("<content>hi there! &lt;ss type=\"smile\"&gt;:)&lt;/ss&gt;</content>"));

    // `<content><hellooo></content>` as rendered is not well-formed even leniently.
    let raw = MBC_RESPONSE.replace("&lt;hellooo&gt;", "<hellooo>");
    let at = raw.find("</content>").unwrap();
    assert_eq!(
        err(MessagesByConversationResponse::parse_with(
            &raw,
            &Limits::lenient()
        )),
        (ErrorKind::Xml, at)
    );
}

macro_rules! reject {
    ($name:ident, $parse:expr, $text:expr, $kind:ident, $offset:expr) => {
        #[test]
        fn $name() {
            assert_eq!(err($parse($text)), (ErrorKind::$kind, $offset));
        }
    };
}

reject!(
    msgr_missing_pagesize,
    RecentConversations::parse,
    "<recentconversations><start>1</start></recentconversations>",
    Missing,
    37
);
reject!(
    msgr_missing_in_empty_root,
    RecentConversations::parse,
    "<recentconversations />",
    Missing,
    0
);
reject!(
    msgr_start_not_number,
    RecentConversations::parse,
    "<recentconversations><start>12a</start><pagesize>1</pagesize></recentconversations>",
    Unexpected,
    28
);
reject!(
    msgr_pagesize_overflow,
    RecentConversations::parse,
    "<recentconversations><start>1</start><pagesize>4294967296</pagesize></recentconversations>",
    Unexpected,
    47
);
reject!(
    msgr_duplicate_start,
    RecentConversations::parse,
    "<recentconversations><start>1</start><start>2</start><pagesize>1</pagesize></recentconversations>",
    Unexpected,
    37
);
reject!(
    msgr_messageid_not_number,
    MessagesByConversationResponse::parse,
    "<messagesbyconversation-response><id>x</id><messages><message><messageid>-1</messageid></message></messages></messagesbyconversation-response>",
    Unexpected,
    73
);
reject!(
    msgr_message_missing_content,
    MessagesByConversationResponse::parse,
    "<messagesbyconversation-response><id>x</id><messages><message><messageid>1</messageid><originalarrivaltime>t</originalarrivaltime><from>f</from><messagetype>Text</messagetype><composetime>t</composetime></message></messages></messagesbyconversation-response>",
    Missing,
    203
);
reject!(
    msgr_missing_hasmore,
    MessagesByConversationResponse::parse,
    "<messagesbyconversation-response><id>x</id><messages/><messagessyncstate/></messagesbyconversation-response>",
    Missing,
    74
);
reject!(
    msgr_trailing_root,
    RecentConversations::parse,
    "<recentconversations><start>1</start><pagesize>1</pagesize></recentconversations>\n<x/>",
    TrailingData,
    82
);
reject!(
    msgr_not_well_formed,
    RecentConversations::parse,
    "<recentconversations><start>1</pagesize></recentconversations>",
    Xml,
    29
);
reject!(
    msgr_unclosed,
    RecentConversations::parse,
    "<recentconversations><start>1</start>",
    Xml,
    37
);
reject!(
    msgr_text_among_elements,
    User::parse,
    "<user>hello<uic>u</uic></user>",
    Unexpected,
    6
);
reject!(msgr_empty_document, parse_document, "  ", Missing, 2);

#[test]
fn msgr_limits() {
    let small = Limits {
        max_len: 20,
        ..Limits::default()
    };
    assert_eq!(
        err(RecentConversations::parse_with(RECENT_REQUEST, &small)),
        (ErrorKind::LimitExceeded, 20)
    );

    let two = Limits {
        max_messages: 1,
        ..Limits::default()
    };
    let at = MBC_RESPONSE.match_indices("<message>").nth(1).unwrap().0;
    assert_eq!(
        err(MessagesByConversationResponse::parse_with(
            MBC_RESPONSE,
            &two
        )),
        (ErrorKind::LimitExceeded, at)
    );

    let convs = Limits {
        max_conversations: 2,
        ..Limits::default()
    };
    let at = RECENT_RESPONSE
        .match_indices("<conversation>")
        .nth(2)
        .unwrap()
        .0;
    assert_eq!(
        err(RecentConversationsResponse::parse_with(
            RECENT_RESPONSE,
            &convs
        )),
        (ErrorKind::LimitExceeded, at)
    );

    // recentconversations-response > conversations > conversation > messages > message > content
    let shallow = Limits {
        max_depth: 5,
        ..Limits::default()
    };
    let at = RECENT_RESPONSE.find("<messageid>").unwrap();
    assert_eq!(
        err(RecentConversationsResponse::parse_with(
            RECENT_RESPONSE,
            &shallow
        )),
        (ErrorKind::LimitExceeded, at)
    );
    let deep_unknown = "<user><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x><x/></x></x></x></x></x></x></x></x></x></x></x></x></x></x></x></user>";
    assert_eq!(
        err(User::parse(deep_unknown)),
        (ErrorKind::LimitExceeded, 6 + 15 * 3)
    );
}

/// The curated corpus agrees with these decoders: `valid/` decodes and round-trips,
/// `lenient/` decodes only leniently, `invalid/` fails as `invalid.tsv` says.
#[test]
fn msgr_corpus_agrees() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus/msgr");
    let read = |sub: &str| {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    };
    for path in read("valid") {
        let bytes = std::fs::read(&path).unwrap();
        let doc = parse_document_bytes(&bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_round_trips(&doc);
    }
    for path in read("lenient") {
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            parse_document_bytes(&bytes, &Limits::default()).is_err(),
            "{}",
            path.display()
        );
        let doc = parse_document_bytes(&bytes, &Limits::lenient())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_round_trips(&doc);
    }
    let table = std::fs::read_to_string(dir.join("invalid.tsv")).unwrap();
    for row in table.lines().skip(1) {
        let cols: Vec<_> = row.split('\t').collect();
        let bytes = std::fs::read(dir.join("invalid").join(cols[0])).unwrap();
        let e = parse_document_bytes(&bytes, &Limits::lenient()).unwrap_err();
        let kind = serde_json::to_value(e.kind()).unwrap();
        assert_eq!(
            (kind.as_str().unwrap(), e.offset().to_string().as_str()),
            (cols[1], cols[2]),
            "{row}"
        );
    }
}

#[test]
fn msgr_into_owned_outlives_input() {
    let owned = {
        let text = RECENT_RESPONSE.to_owned();
        parse_document(&text).unwrap().into_owned()
    };
    assert_eq!(owned, parse_document(RECENT_RESPONSE).unwrap());
}

/// Law 4: the document re-parses, from its encoding, to an equal value.
fn assert_round_trips(doc: &Document<'_>) {
    let text = encoded(|o| doc.encode(o));
    let back = parse_document(&text).unwrap_or_else(|e| panic!("{e} in {text:?}"));
    assert_eq!(&back, doc, "{text}");
}

fn text() -> impl Strategy<Value = Cow<'static, str>> {
    "[a-zA-Z0-9 <>&\"';:@={}./\\-\r\n\t\u{e9}\u{263a}\u{1f600}]{0,12}".prop_map(Cow::Owned)
}

fn message() -> impl Strategy<Value = Message<'static>> {
    (
        any::<u64>(),
        text(),
        text(),
        text(),
        text(),
        proptest::option::of(text()),
        text(),
    )
        .prop_map(
            |(
                message_id,
                original_arrival_time,
                from,
                message_type,
                content,
                client_message_id,
                compose_time,
            )| Message {
                message_id,
                original_arrival_time,
                from,
                message_type,
                content,
                client_message_id,
                compose_time,
            },
        )
}

fn conversation() -> impl Strategy<Value = Conversation<'static>> {
    let thread = (any::<u64>(), any::<u64>(), proptest::option::of(text())).prop_map(
        |(last_join_at, version, topic)| Thread {
            last_join_at,
            version,
            topic,
        },
    );
    (
        text(),
        any::<u64>(),
        proptest::option::of(text().prop_map(ConsumptionHorizon)),
        proptest::collection::vec(message(), 0..3),
        proptest::option::of(thread),
    )
        .prop_map(
            |(id, version, consumption_horizon, messages, thread)| Conversation {
                id,
                version,
                consumption_horizon,
                messages,
                thread,
            },
        )
}

fn activity() -> impl Strategy<Value = ThreadActivity<'static>> {
    let change = || {
        (any::<u64>(), text(), text()).prop_map(|(event_time, initiator, target)| MemberChange {
            event_time,
            initiator,
            target,
        })
    };
    prop_oneof![
        change().prop_map(ThreadActivity::AddMember),
        change().prop_map(ThreadActivity::DeleteMember),
        (any::<u64>(), text(), text()).prop_map(|(event_time, initiator, value)| {
            ThreadActivity::TopicUpdate(TopicUpdate {
                event_time,
                initiator,
                value,
            })
        }),
        (any::<u64>(), text(), text(), text()).prop_map(|(event_time, initiator, target, role)| {
            ThreadActivity::RoleUpdate(RoleUpdate {
                event_time,
                initiator,
                target,
                role,
            })
        }),
    ]
}

fn document() -> impl Strategy<Value = Document<'static>> {
    let opt = || proptest::option::of(text());
    prop_oneof![
        (any::<u64>(), any::<u32>(), opt()).prop_map(|(start, page_size, sync_state)| {
            Document::RecentConversations(RecentConversations {
                start,
                page_size,
                sync_state,
            })
        }),
        (
            proptest::collection::vec(conversation(), 0..3),
            text(),
            any::<bool>()
        )
            .prop_map(|(conversations, sync_state, has_more)| {
                Document::RecentConversationsResponse(RecentConversationsResponse {
                    conversations,
                    sync_state,
                    has_more,
                })
            }),
        (text(), any::<u64>(), opt(), any::<u32>()).prop_map(
            |(id, start, messages_sync_state, page_size)| {
                Document::MessagesByConversation(MessagesByConversation {
                    id,
                    start,
                    messages_sync_state,
                    page_size,
                })
            }
        ),
        (
            text(),
            proptest::collection::vec(message(), 0..4),
            text(),
            any::<bool>()
        )
            .prop_map(|(id, messages, messages_sync_state, has_more)| {
                Document::MessagesByConversationResponse(MessagesByConversationResponse {
                    id,
                    messages,
                    messages_sync_state,
                    has_more,
                })
            }),
        activity().prop_map(Document::ThreadActivity),
        (opt(), opt(), opt(), opt(), opt()).prop_map(
            |(ssl_compact_ticket, uic, id, alias, web_compact_ticket)| {
                Document::User(User {
                    ssl_compact_ticket,
                    uic,
                    id,
                    alias,
                    web_compact_ticket,
                })
            }
        ),
        (
            any::<u32>(),
            proptest::option::of((opt(), opt(), opt(), opt()))
        )
            .prop_map(|(ver, agent)| {
                Document::Connect(Connect {
                    ver,
                    agent: agent.map(|(os, os_ver, processor, lcid)| Agent {
                        os,
                        os_ver,
                        processor,
                        lcid,
                    }),
                })
            }),
        any::<u32>().prop_map(|seconds| Document::Wait(Wait { seconds })),
        (any::<u32>(), opt(), opt(), opt()).prop_map(|(ver, client_name, client_ver, epid)| {
            Document::Bind(Bind {
                ver,
                client_name,
                client_ver,
                epid,
            })
        }),
        (
            opt(),
            proptest::collection::vec(
                (
                    text(),
                    opt(),
                    proptest::collection::vec((text(), opt()), 0..3)
                ),
                0..3
            )
        )
            .prop_map(|(list, contacts)| {
                Document::ContactList(ContactList {
                    list,
                    contacts: contacts
                        .into_iter()
                        .map(|(name, network, services)| Contact {
                            name,
                            network,
                            services: services
                                .into_iter()
                                .map(|(name, list)| ContactService { name, list })
                                .collect(),
                        })
                        .collect(),
                })
            }),
        (text(), proptest::collection::vec((text(), opt()), 0..3)).prop_map(|(id, members)| {
            Document::GroupThread(GroupThread {
                id,
                members: members
                    .into_iter()
                    .map(|(mri, role)| GroupMember { mri, role })
                    .collect(),
            })
        }),
    ]
}

proptest! {
    #[test]
    fn msgr_round_trip(doc in document()) {
        let mut out = Vec::new();
        doc.encode(&mut out);
        let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = parse_document(&text).map_err(|e| TestCaseError::fail(format!("{e} in {text:?}")))?;
        prop_assert_eq!(&back, &doc, "{}", text);
        // The typed entry point agrees with the dispatcher, and leniency changes nothing
        // for escaped documents.
        prop_assert_eq!(parse_document_with(&text, &Limits::lenient()), Ok(back));
    }

    #[test]
    fn msgr_activity_in_message_content(activity in activity()) {
        let mut content = Vec::new();
        activity.encode(&mut content);
        let content = String::from_utf8(content).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let m = Message {
            message_id: 1,
            original_arrival_time: "t".into(),
            from: THREAD.into(),
            message_type: "ThreadActivity/X".into(),
            content: content.into(),
            client_message_id: None,
            compose_time: "t".into(),
        };
        let r = MessagesByConversationResponse { id: THREAD.into(), messages: vec![m], messages_sync_state: "s".into(), has_more: false };
        let mut out = Vec::new();
        r.encode(&mut out);
        let text = String::from_utf8(out).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = MessagesByConversationResponse::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.messages[0].thread_activity(), Some(Ok(activity)));
    }

    #[test]
    fn msgr_parse_never_panics(text in "[<>/a-z &;#x0-9\"'=!?\\-]{0,64}") {
        let _ = parse_document_with(&text, &Limits::lenient());
    }
}
