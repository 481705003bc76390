//! Codec benchmarks: `cargo bench -p imspec-codec --bench codec -- <group>`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quick_xml::events::Event;

/// Seed 000's `<recentconversations-response>`, restored (escaped `<content>`, thread id).
const RECENT: &str = r#"<recentconversations-response>
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

/// quick-xml's own event loop over `doc`: every event read, every text and reference touched.
fn raw_events(doc: &str) -> usize {
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut touched = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) | Err(_) => return touched,
            Ok(Event::Text(t)) => touched += black_box(t.xml10_content()).len(),
            Ok(Event::GeneralRef(r)) => touched += black_box(r.len()),
            Ok(Event::Start(s) | Event::Empty(s)) => touched += s.name().as_ref().len(),
            Ok(_) => touched += 1,
        }
    }
}

fn msgr(c: &mut Criterion) {
    let mut group = c.benchmark_group("msgr");
    group.throughput(Throughput::Bytes(RECENT.len() as u64));
    group.bench_function("recentconversations_response/quick_xml_events", |b| {
        b.iter(|| raw_events(black_box(RECENT)));
    });
    group.finish();
}

criterion_group!(benches, msgr);
criterion_main!(benches);
