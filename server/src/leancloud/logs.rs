//! History: `logs` pages of a conversation's stored messages.

use super::*;

impl Hub {
    pub(super) fn logs(&mut self, conn: ConnId, peer: &str, cmd: &GenericCommand) -> Reply {
        let q = cmd.logs_message.clone().unwrap_or_default();
        let cid = q.cid.clone().unwrap_or_default();
        match self.store.conv(&cid)? {
            Some(c) if c.members.iter().any(|m| m == peer) || c.transient => {}
            _ => {
                return Err(Refusal::new(
                    code::INVALID_MESSAGING_TARGET,
                    "Conversation does not exist or client is not a member.",
                ));
            }
        }
        let limit =
            q.l.or(q.limit)
                .and_then(|l| usize::try_from(l).ok())
                .filter(|l| *l > 0)
                .unwrap_or(DEFAULT_LOGS)
                .min(MAX_LOGS);
        let t = q.t.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0);
        let tt = q.tt.and_then(|t| u64::try_from(t).ok()).filter(|t| *t > 0);
        let t_in = q.t_included == Some(true);
        let tt_in = q.tt_included == Some(true);
        let newer = q.direction == Some(QueryDirection::New as i32);
        let (lo, hi, newest) = if newer {
            (
                t.map_or(0, |t| if t_in { t } else { t.saturating_add(1) }),
                tt.map_or(u64::MAX, |t| if tt_in { t } else { t.saturating_sub(1) }),
                false,
            )
        } else {
            (
                tt.map_or(0, |t| if tt_in { t } else { t.saturating_add(1) }),
                t.map_or(u64::MAX, |t| if t_in { t } else { t.saturating_sub(1) }),
                !self.mutant(Mutant::LcLogsOldestFirst),
            )
        };
        let msgs = match q.lctype {
            Some(ty) => {
                let all = self.store.range(&cid, lo, hi, usize::MAX, newest)?;
                let mut keep: Vec<Message> = all
                    .into_iter()
                    .filter(|m| lctype(m) == Some(i64::from(ty)))
                    .collect();
                if newest {
                    let skip = keep.len().saturating_sub(limit);
                    keep.drain(..skip);
                } else {
                    keep.truncate(limit);
                }
                keep
            }
            None => self.store.range(&cid, lo, hi, limit, newest)?,
        };
        let logs = msgs
            .iter()
            .map(|m| LogItem {
                from: Some(m.from.clone()),
                data: content_data(m).or_else(|| {
                    content_binary(m).map(|b| {
                        use base64::Engine as _;
                        base64::engine::general_purpose::STANDARD.encode(b)
                    })
                }),
                timestamp: Some(to_i64(m.ts)),
                msg_id: Some(m.mid.clone()),
                ack_at: m.ack_at.map(to_i64),
                read_at: m.read_at.map(to_i64),
                patch_timestamp: m.patch_ts.map(to_i64),
                mention_all: Some(m.mention_all),
                mention_pids: m.mention_pids.clone(),
                bin: content_binary(m).map(|_| true),
                conv_type: None,
            })
            .collect();
        let mut reply = self.reply_to(cmd, CommandType::Logs, None);
        reply.logs_message = Some(LogsCommand {
            logs,
            ..LogsCommand::default()
        });
        self.send_to(conn, Some(peer), reply);
        Ok(())
    }
}
