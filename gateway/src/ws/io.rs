//! Frame I/O of a socket, on actix-http's WebSocket parser. Inbound: the request payload
//! parsed into frames. Outbound: the session's bounded queue drained into the response body,
//! everything queued at once written as one chunk (one flush for many frames).

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_http::ws::{CloseCode, CloseReason, OpCode, Parser, ProtocolError};
use actix_web::web;
use bytes::{Bytes, BytesMut};
use confab_engine::push::Outbound;
use futures_core::Stream;
use tokio::sync::mpsc;

use crate::wire;

/// Frames over this close the socket (1009): the stream cannot be read past them.
pub const HARD_FRAME_LIMIT: usize = 1024 * 1024;

/// One inbound frame, with fragments already joined.
#[derive(Debug)]
pub enum Inbound {
    Text(Bytes),
    Binary,
    Ping(Bytes),
    Pong,
    Close,
    /// A message assembled from fragments over [`HARD_FRAME_LIMIT`].
    TooLarge,
}

pub struct Incoming {
    payload: web::Payload,
    buf: BytesMut,
    /// Opcode and data of a fragmented message being joined.
    fragments: Option<(OpCode, BytesMut)>,
    done: bool,
}

impl Incoming {
    pub fn new(payload: web::Payload) -> Self {
        Incoming {
            payload,
            buf: BytesMut::new(),
            fragments: None,
            done: false,
        }
    }

    fn next_frame(&mut self) -> Result<Option<Inbound>, ProtocolError> {
        while let Some((fin, op, data)) = Parser::parse(&mut self.buf, true, HARD_FRAME_LIMIT)? {
            let data = data.unwrap_or_default();
            let message = match (op, fin) {
                (OpCode::Ping, _) => return Ok(Some(Inbound::Ping(data.freeze()))),
                (OpCode::Pong, _) => return Ok(Some(Inbound::Pong)),
                (OpCode::Close, _) => return Ok(Some(Inbound::Close)),
                (OpCode::Text | OpCode::Binary, true) => (op, data),
                (OpCode::Text | OpCode::Binary, false) => {
                    self.fragments = Some((op, data));
                    continue;
                }
                (OpCode::Continue, _) => {
                    let Some((_, joined)) = self.fragments.as_mut() else {
                        return Err(ProtocolError::BadOpCode);
                    };
                    if joined.len() + data.len() > HARD_FRAME_LIMIT {
                        self.fragments = None;
                        return Ok(Some(Inbound::TooLarge));
                    }
                    joined.extend_from_slice(&data);
                    if !fin {
                        continue;
                    }
                    match self.fragments.take() {
                        Some(whole) => whole,
                        None => continue,
                    }
                }
                _ => return Err(ProtocolError::BadOpCode),
            };
            return Ok(Some(match message.0 {
                OpCode::Text => Inbound::Text(message.1.freeze()),
                _ => Inbound::Binary,
            }));
        }
        Ok(None)
    }
}

impl Stream for Incoming {
    type Item = Result<Inbound, ProtocolError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.as_mut().get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.next_frame() {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
            match Pin::new(&mut this.payload).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.buf.extend_from_slice(&chunk),
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(ProtocolError::Io(std::io::Error::other(
                        e.to_string(),
                    )))));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Most queued items written into one chunk.
const MAX_ITEMS_PER_CHUNK: usize = 128;

pub struct Outgoing {
    rx: mpsc::Receiver<Outbound>,
    buf: BytesMut,
    closed: bool,
}

impl Outgoing {
    pub fn new(rx: mpsc::Receiver<Outbound>) -> Self {
        Outgoing {
            rx,
            buf: BytesMut::new(),
            closed: false,
        }
    }

    fn encode(&mut self, item: Outbound) {
        match item {
            Outbound::Push(push) => {
                let json = push
                    .encoded
                    .get_or_init(|| wire::ws::encode_push(&push.kind));
                Parser::write_message(&mut self.buf, json, OpCode::Text, true, false);
            }
            Outbound::Frame(json) => {
                Parser::write_message(&mut self.buf, json, OpCode::Text, true, false)
            }
            Outbound::Ping => Parser::write_message(&mut self.buf, b"", OpCode::Ping, true, false),
            Outbound::Pong(data) => {
                Parser::write_message(&mut self.buf, data, OpCode::Pong, true, false)
            }
            Outbound::Close(code, reason) => {
                let reason = CloseReason {
                    code: CloseCode::from(code),
                    description: Some(reason.to_owned()),
                };
                Parser::write_close(&mut self.buf, Some(reason), false);
                self.closed = true;
            }
        }
    }
}

impl Stream for Outgoing {
    type Item = Result<Bytes, actix_web::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.as_mut().get_mut();
        let mut items = 0;
        while !this.closed && items < MAX_ITEMS_PER_CHUNK {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(item)) => {
                    this.encode(item);
                    items += 1;
                }
                Poll::Ready(None) => {
                    this.closed = true;
                }
                Poll::Pending => break,
            }
        }
        if !this.buf.is_empty() {
            return Poll::Ready(Some(Ok(this.buf.split().freeze())));
        }
        if this.closed {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}
