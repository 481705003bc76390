//! Conversations: `conv/start`, members (add, remove, join, quit), `conv/query`,
//! `conv/count`, attribute updates and `conv/max-read`.

use super::*;

impl Hub {
    pub(super) fn conv_start(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let mut members: Vec<String> = Vec::new();
        for m in std::iter::once(peer.to_owned()).chain(cm.m.iter().cloned()) {
            if !m.is_empty() && !members.contains(&m) {
                members.push(m);
            }
        }
        let attr = match cm.attr.as_ref().and_then(|a| a.data.as_deref()) {
            Some(text) => match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(_)) => text.to_owned(),
                _ => {
                    return Err(Refusal::new(
                        code::INTERNAL_ERROR,
                        "attr is not a JSON object",
                    ));
                }
            },
            None => "{}".to_owned(),
        };
        let transient = cm.transient == Some(true);
        let unique = cm.unique == Some(true) && !transient;
        if unique
            && let Some(cid) = self.store.unique(&members)?
            && let Some(conv) = self.store.conv(&cid)?
        {
            let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Started));
            reply.conv_message = Some(ConvCommand {
                cid: Some(cid),
                cdate: Some(format_iso8601_ms(conv.created_ms)),
                ..ConvCommand::default()
            });
            self.send_to(conn, Some(peer), reply);
            return Ok(());
        }
        let conv = Conv {
            cid: self.rng.hex(12),
            members,
            creator: peer.to_owned(),
            transient,
            unique,
            attr,
            created_ms: now_ms,
            updated_ms: now_ms,
        };
        self.store.put_conv(&conv)?;
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Started));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            cdate: Some(format_iso8601_ms(now_ms)),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        let mut joined = command(CommandType::Conv, Some(OpType::Joined));
        joined.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            init_by: Some(peer.to_owned()),
            ..ConvCommand::default()
        });
        for member in conv.members.iter().filter(|m| *m != peer) {
            for (c, _) in self.sessions_of(member) {
                self.send_to(c, Some(member), joined.clone());
            }
        }
        Ok(())
    }

    pub(super) fn conv_members(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
        add: bool,
    ) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let mut conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let mut changed: Vec<String> = Vec::new();
        for m in cm.m.iter().filter(|m| !m.is_empty()) {
            let present = conv.members.contains(m);
            if add != present && !changed.contains(m) {
                changed.push(m.clone());
            }
        }
        if add {
            conv.members.extend(changed.iter().cloned());
        } else {
            conv.members.retain(|m| !changed.contains(m));
        }
        conv.updated_ms = now_ms;
        self.store.put_conv(&conv)?;
        let (reply_op, own_op, others_op) = if add {
            (OpType::Added, OpType::Joined, OpType::MembersJoined)
        } else {
            (OpType::Removed, OpType::Left, OpType::MembersLeft)
        };
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(reply_op));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            allowed_pids: changed.clone(),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        let mut own = command(CommandType::Conv, Some(own_op));
        own.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            init_by: Some(peer.to_owned()),
            ..ConvCommand::default()
        });
        let mut others = command(CommandType::Conv, Some(others_op));
        others.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            m: changed.clone(),
            init_by: Some(peer.to_owned()),
            ..ConvCommand::default()
        });
        let audience: BTreeSet<String> =
            conv.members.iter().chain(changed.iter()).cloned().collect();
        for member in &audience {
            let push = if changed.contains(member) {
                &own
            } else {
                &others
            };
            self.push_to(member, push, conn, peer);
        }
        Ok(())
    }

    pub(super) fn member_conv(&self, cid: Option<&str>, peer: &str) -> Result<Conv, Refusal> {
        let cid = cid.unwrap_or_default();
        match self.store.conv(cid)? {
            Some(c) if c.members.iter().any(|m| m == peer) || c.transient => Ok(c),
            Some(_) => Err(Refusal::new(
                code::CONVERSATION_MEMBERSHIP_REQUIRED,
                "not a member of the conversation",
            )),
            None => Err(Refusal::new(
                code::CONVERSATION_NOT_FOUND,
                "conversation not found",
            )),
        }
    }

    pub(super) fn conv_query(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let filter: Map<String, Value> = cm
            .r#where
            .as_ref()
            .and_then(|w| w.data.as_deref())
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        let ids: Option<Vec<String>> = match filter.get("objectId") {
            Some(Value::String(s)) => Some(vec![s.clone()]),
            Some(Value::Object(o)) => o.get("$in").and_then(Value::as_array).map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            }),
            _ => None,
        };
        let candidates = match (&ids, cm.temp_conv_ids.is_empty()) {
            (Some(ids), _) => ids.clone(),
            (None, false) => Vec::new(),
            (None, true) => self.store.conversations_of(peer)?,
        };
        let all_of: Vec<String> = match filter.get("m") {
            Some(Value::Object(o)) => o
                .get("$all")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        let mut convs = Vec::new();
        for cid in candidates {
            if let Some(c) = self.store.conv(&cid)?
                && all_of.iter().all(|m| c.members.contains(m))
            {
                convs.push(c);
            }
        }
        convs.sort_by(|a, b| b.updated_ms.cmp(&a.updated_ms).then(a.cid.cmp(&b.cid)));
        let skip = cm.skip.and_then(|s| usize::try_from(s).ok()).unwrap_or(0);
        let limit = cm
            .limit
            .and_then(|l| usize::try_from(l).ok())
            .filter(|l| *l > 0)
            .unwrap_or(10)
            .min(1000);
        let mut results = Vec::new();
        for c in convs.into_iter().skip(skip).take(limit) {
            results.push(self.conv_json(&c)?);
        }
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Results));
        reply.conv_message = Some(ConvCommand {
            results: Some(JsonObjectMessage {
                data: Some(Value::Array(results).to_string()),
            }),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    /// A conversation as `_Conversation` JSON (`objectId`, `m`, `c`, `tr`, attributes, `lm`,
    /// last message).
    pub(super) fn conv_json(&self, c: &Conv) -> Result<Value, StoreError> {
        let mut o: Map<String, Value> = serde_json::from_str(&c.attr).unwrap_or_default();
        o.insert("objectId".into(), c.cid.clone().into());
        o.insert("m".into(), c.members.clone().into());
        o.insert("c".into(), c.creator.clone().into());
        o.insert("tr".into(), c.transient.into());
        o.insert("unique".into(), c.unique.into());
        o.insert("createdAt".into(), format_iso8601_ms(c.created_ms).into());
        o.insert("updatedAt".into(), format_iso8601_ms(c.updated_ms).into());
        if let Some(last) = self.store.range(&c.cid, 0, u64::MAX, 1, true)?.pop() {
            o.insert(
                "lm".into(),
                serde_json::json!({"__type": "Date", "iso": format_iso8601_ms(last.ts)}),
            );
            if let Some(data) = content_data(&last) {
                o.insert("msg".into(), data.into());
            } else if let Some(bin) = content_binary(&last) {
                use base64::Engine as _;
                o.insert(
                    "msg".into(),
                    base64::engine::general_purpose::STANDARD.encode(bin).into(),
                );
                o.insert("bin".into(), true.into());
            }
            o.insert("msg_from".into(), last.from.clone().into());
            o.insert("msg_mid".into(), last.mid.clone().into());
            o.insert("msg_timestamp".into(), last.ts.into());
            if let Some(p) = last.patch_ts {
                o.insert("patch_timestamp".into(), p.into());
            }
        }
        Ok(Value::Object(o))
    }

    pub(super) fn conv_count(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Result));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            count: Some(i32::try_from(conv.members.len()).unwrap_or(i32::MAX)),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }

    pub(super) fn conv_update(
        &mut self,
        now_ms: u64,
        conn: ConnId,
        peer: &str,
        cmd: &GenericCommand,
    ) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let mut conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let Some(Value::Object(changes)) = cm
            .attr
            .as_ref()
            .and_then(|a| a.data.as_deref())
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
        else {
            return Err(Refusal::new(
                code::INTERNAL_ERROR,
                "attr is not a JSON object",
            ));
        };
        let mut attrs: Map<String, Value> = serde_json::from_str(&conv.attr).unwrap_or_default();
        for (k, v) in &changes {
            // The SDK writes custom attributes as `attr.key`; keep them under that name.
            attrs.insert(k.clone(), v.clone());
        }
        conv.attr = Value::Object(attrs).to_string();
        conv.updated_ms = now_ms;
        self.store.put_conv(&conv)?;
        let modified = JsonObjectMessage {
            data: Some(Value::Object(changes).to_string()),
        };
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::Updated));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            udate: Some(format_iso8601_ms(now_ms)),
            attr_modified: Some(modified.clone()),
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        let mut push = command(CommandType::Conv, Some(OpType::Updated));
        push.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            init_by: Some(peer.to_owned()),
            udate: Some(format_iso8601_ms(now_ms)),
            attr: Some(modified),
            ..ConvCommand::default()
        });
        for member in &conv.members {
            self.push_to(member, &push, conn, peer);
        }
        Ok(())
    }

    pub(super) fn max_read(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let cm = cmd.conv_message.clone().unwrap_or_default();
        let conv = self.member_conv(cm.cid.as_deref(), peer)?;
        let mut tuples = Vec::new();
        let (mut ack, mut read) = (0u64, 0u64);
        for member in conv.members.iter().filter(|m| *m != peer) {
            let c: Cursor = self.store.cursor(member, &conv.cid)?;
            ack = ack.max(c.acked);
            read = read.max(c.read);
            tuples.push(MaxReadTuple {
                pid: Some(member.clone()),
                max_ack_timestamp: Some(to_i64(c.acked)),
                max_read_timestamp: Some(to_i64(c.read)),
            });
        }
        let mut reply = self.reply_to(cmd, CommandType::Conv, Some(OpType::MaxRead));
        reply.conv_message = Some(ConvCommand {
            cid: Some(conv.cid.clone()),
            max_ack_timestamp: Some(to_i64(ack)),
            max_read_timestamp: Some(to_i64(read)),
            max_read_tuples: if cm.query_all_members == Some(true) {
                tuples
            } else {
                Vec::new()
            },
            ..ConvCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }
}
