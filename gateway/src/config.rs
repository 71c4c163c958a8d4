//! The one typed configuration: defaults that work on a laptop, then a TOML file (`--config`),
//! then `CONFAB_*` environment variables, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address and port the HTTP/WebSocket server binds. `CONFAB_LISTEN`.
    pub listen: SocketAddr,
    /// Where the embedded store and the generated JWT key live. `CONFAB_DATA_DIR`.
    pub data_dir: PathBuf,
    /// A tracing filter, e.g. `info` or `confab_gateway=debug`. `CONFAB_LOG`.
    pub log: String,
    pub storage: StorageConfig,
    pub auth: AuthConfig,
    pub http: HttpConfig,
    pub rate_limit: RateLimitConfig,
    pub chat: ChatConfig,
    pub notifications: NotificationsConfig,
    pub cluster: ClusterConfig,
    pub status: StatusConfig,
    pub calls: CallsConfig,
    pub media: MediaConfig,
}

const MIB: u64 = 1024 * 1024;

/// `[media]`: uploads, their limits and where blobs live.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    /// `local` (files under `dir`) or `s3` (see `[media.s3]`). `CONFAB_MEDIA_BACKEND`.
    pub backend: String,
    /// Where local blobs and staged uploads live; default `<data_dir>/media`.
    /// `CONFAB_MEDIA_DIR`.
    pub dir: Option<PathBuf>,
    /// Largest upload per kind, in bytes. `CONFAB_MEDIA_IMAGE_MAX_BYTES`, `..._VIDEO_...`,
    /// `..._AUDIO_...`, `..._VOICE_...`, `..._DOCUMENT_...`, `..._STICKER_...`.
    pub image_max_bytes: u64,
    pub video_max_bytes: u64,
    pub audio_max_bytes: u64,
    pub voice_max_bytes: u64,
    pub document_max_bytes: u64,
    pub sticker_max_bytes: u64,
    /// Most pixels (width x height) of an uploaded image. `CONFAB_MEDIA_MAX_IMAGE_PIXELS`.
    pub max_image_pixels: u64,
    /// Longest side of image thumbnails. `CONFAB_MEDIA_THUMBNAIL_PX`.
    pub thumbnail_px: u32,
    /// `Cache-Control: private, max-age` of downloads. `CONFAB_MEDIA_CACHE_MAX_AGE_SECS`.
    pub cache_max_age_secs: u64,
    /// The S3-compatible store: `bucket`, `region`, `endpoint`, `prefix`, `allow_http`
    /// (`CONFAB_MEDIA_S3_BUCKET`, `_REGION`, `_ENDPOINT`, `_PREFIX`, `_ALLOW_HTTP`).
    /// Credentials only from `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`.
    pub s3: confab_storage::blob::S3Config,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            dir: None,
            image_max_bytes: 16 * MIB,
            video_max_bytes: 100 * MIB,
            audio_max_bytes: 16 * MIB,
            voice_max_bytes: 16 * MIB,
            document_max_bytes: 100 * MIB,
            sticker_max_bytes: MIB,
            max_image_pixels: 50_000_000,
            thumbnail_px: 320,
            cache_max_age_secs: 7 * 24 * 3600,
            s3: Default::default(),
        }
    }
}

impl MediaConfig {
    /// The media directory: `dir`, or `<data_dir>/media`.
    pub fn dir(&self, data_dir: &Path) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| data_dir.join("media"))
    }

    pub fn limits(&self) -> confab_engine::media::MediaLimits {
        confab_engine::media::MediaLimits {
            image_bytes: self.image_max_bytes,
            video_bytes: self.video_max_bytes,
            audio_bytes: self.audio_max_bytes,
            voice_bytes: self.voice_max_bytes,
            document_bytes: self.document_max_bytes,
            sticker_bytes: self.sticker_max_bytes,
            max_image_pixels: self.max_image_pixels,
            thumbnail_px: self.thumbnail_px,
        }
    }
}

/// Several nodes as one service (docs/ARCHITECTURE.md "Scaling out"). Needs the scylla store.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// `redis://host:port/db`; unset: a single node. `CONFAB_CLUSTER_REDIS_URL`.
    pub redis_url: Option<String>,
    /// This node's id (a UUID); random at each start when unset. `CONFAB_CLUSTER_NODE_ID`.
    pub node_id: Option<uuid::Uuid>,
    /// Registry heartbeat period. `CONFAB_CLUSTER_HEARTBEAT_MS`.
    pub heartbeat_ms: u64,
    /// A node silent this long is dead and its chats move. `CONFAB_CLUSTER_NODE_TTL_MS`.
    pub node_ttl_ms: u64,
    /// A command forwarded to the node ordering a chat is retried after this.
    /// `CONFAB_CLUSTER_FORWARD_TIMEOUT_MS`.
    pub forward_timeout_ms: u64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: None,
            node_id: None,
            heartbeat_ms: 1000,
            node_ttl_ms: 5000,
            forward_timeout_ms: 5000,
        }
    }
}

impl ClusterConfig {
    pub fn engine(&self) -> Option<confab_engine::cluster::ClusterConfig> {
        use std::time::Duration;
        Some(confab_engine::cluster::ClusterConfig {
            redis_url: self.redis_url.clone()?,
            node_id: self.node_id.unwrap_or_else(uuid::Uuid::new_v4),
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            node_ttl: Duration::from_millis(self.node_ttl_ms),
            forward_timeout: Duration::from_millis(self.forward_timeout_ms),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Messages (and reactions) for one user in one chat within this many milliseconds make one
    /// notification ("5 new messages in Family"). `CONFAB_NOTIFICATIONS_COALESCE_MS`.
    pub coalesce_ms: u64,
    /// Keep notifications in each user's inbox (`/api/notifications`).
    /// `CONFAB_NOTIFICATIONS_INBOX`.
    pub inbox: bool,
    /// POST every notification as JSON to this URL. `CONFAB_NOTIFICATIONS_WEBHOOK_URL`.
    pub webhook_url: Option<String>,
    /// Signs webhook requests (`X-Confab-Signature`); set it from the environment.
    /// `CONFAB_NOTIFICATIONS_WEBHOOK_SECRET`.
    pub webhook_secret: Option<String>,
    /// Per attempt. `CONFAB_NOTIFICATIONS_WEBHOOK_TIMEOUT_MS`.
    pub webhook_timeout_ms: u64,
    /// Attempts per notification (network errors, 429 and 5xx are retried).
    /// `CONFAB_NOTIFICATIONS_WEBHOOK_ATTEMPTS`.
    pub webhook_attempts: u32,
    /// Back-off before the first retry, doubling after. `CONFAB_NOTIFICATIONS_WEBHOOK_BACKOFF_MS`.
    pub webhook_backoff_ms: u64,
}

impl Default for NotificationsConfig {
    fn default() -> Self {
        NotificationsConfig {
            coalesce_ms: 3000,
            inbox: true,
            webhook_url: None,
            webhook_secret: None,
            webhook_timeout_ms: 5000,
            webhook_attempts: 4,
            webhook_backoff_ms: 500,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatusConfig {
    /// Seconds a status lives after it is posted. `CONFAB_STATUS_TTL_SECS`.
    pub ttl_secs: u64,
    /// Seconds between purges of expired statuses (embedded store; CQL rows carry a TTL).
    /// `CONFAB_STATUS_SWEEP_INTERVAL_SECS`.
    pub sweep_interval_secs: u64,
}

impl Default for StatusConfig {
    fn default() -> Self {
        Self {
            ttl_secs: 24 * 3600,
            sweep_interval_secs: 60,
        }
    }
}

/// Voice and video calls: ringing, reconnection, and the embedded SFU's UDP sockets.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CallsConfig {
    /// Seconds an unanswered call rings before it ends as missed. `CONFAB_CALLS_RING_TIMEOUT_SECS`.
    pub ring_timeout_secs: u64,
    /// Seconds a participant whose socket dropped may rejoin before being removed.
    /// `CONFAB_CALLS_RECONNECT_GRACE_SECS`.
    pub reconnect_grace_secs: u64,
    /// IPs the SFU binds its UDP sockets on; `0.0.0.0` = every non-loopback interface.
    /// `CONFAB_CALLS_UDP_IPS` (comma-separated).
    pub udp_ips: Vec<std::net::IpAddr>,
    /// Inclusive UDP port range of the SFU (one port per participant); both 0 = ephemeral.
    /// `CONFAB_CALLS_UDP_PORT_MIN`, `CONFAB_CALLS_UDP_PORT_MAX`.
    pub udp_port_min: u16,
    pub udp_port_max: u16,
    /// The public IP announced in the SFU's candidates (server behind 1:1 NAT).
    /// `CONFAB_CALLS_PUBLIC_IP`.
    pub public_ip: Option<std::net::IpAddr>,
    /// STUN/TURN servers handed to clients (`[[calls.ice_servers]]` with `urls`, `username`,
    /// `credential`). `CONFAB_CALLS_ICE_SERVERS` (the same list as JSON).
    pub ice_servers: Vec<confab_signalling::call::IceServer>,
}

impl Default for CallsConfig {
    fn default() -> Self {
        Self {
            ring_timeout_secs: 45,
            reconnect_grace_secs: 15,
            udp_ips: vec![std::net::IpAddr::from([0, 0, 0, 0])],
            udp_port_min: 0,
            udp_port_max: 0,
            public_ip: None,
            ice_servers: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    /// Threads running chat actors; 0 = one per core. `CONFAB_CHAT_THREADS`.
    pub threads: usize,
    /// Seconds a chat actor may idle before it stops (rebuilt from the store on next use).
    /// `CONFAB_CHAT_IDLE_SECS`.
    pub idle_secs: u64,
    /// Most members of a group, creator included. `CONFAB_CHAT_MAX_GROUP_MEMBERS`.
    pub max_group_members: usize,
    /// Seconds a sender may edit a text message. `CONFAB_CHAT_EDIT_WINDOW_SECS`.
    pub edit_window_secs: u64,
    /// Seconds a sender may delete a message for everyone. `CONFAB_CHAT_DELETE_WINDOW_SECS`.
    pub delete_window_secs: u64,
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            threads: 0,
            idle_secs: 300,
            max_group_members: 1024,
            edit_window_secs: 15 * 60,
            delete_window_secs: 48 * 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `embedded` (a redb file in `data_dir`, the default) or `scylla` (ScyllaDB or Apache
    /// Cassandra over CQL, see `[storage.scylla]`). `CONFAB_STORAGE_BACKEND`.
    pub backend: String,
    /// Used when `backend = "scylla"`: `contact_points` (`CONFAB_STORAGE_SCYLLA_CONTACT_POINTS`,
    /// comma-separated), `keyspace` (`CONFAB_STORAGE_SCYLLA_KEYSPACE`), `replication`,
    /// `consistency` (`CONFAB_STORAGE_SCYLLA_CONSISTENCY`, `local_quorum` by default),
    /// `local_datacenter`, `connect_timeout_secs`, `request_timeout_secs`.
    pub scylla: confab_storage::scylla::ScyllaConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HMAC secret for access tokens (at least 32 bytes). When unset, one is generated on first
    /// start and kept in `<data_dir>/jwt.key`. `CONFAB_AUTH_JWT_SECRET`.
    pub jwt_secret: Option<String>,
    /// Access token lifetime. `CONFAB_AUTH_ACCESS_TTL_SECS`.
    pub access_ttl_secs: u64,
    /// Refresh token lifetime, renewed by each refresh. `CONFAB_AUTH_REFRESH_TTL_SECS`.
    pub refresh_ttl_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest accepted request body. `CONFAB_HTTP_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// Worker threads; 0 means one per core. `CONFAB_HTTP_WORKERS`.
    pub workers: usize,
    /// Seconds to let in-flight requests finish on shutdown. `CONFAB_HTTP_SHUTDOWN_TIMEOUT_SECS`.
    pub shutdown_timeout_secs: u64,
    /// Addresses of the reverse proxies / load balancers in front of confab whose
    /// `X-Forwarded-For` is believed: for a request from one of them, the client is the
    /// right-most address in that header that is not itself a trusted proxy. Empty (the
    /// default): the TCP peer is the client and the header is ignored.
    /// `CONFAB_HTTP_TRUSTED_PROXIES` (comma-separated).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Token buckets: each holds `n` attempts and refills at `n` per minute.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// `CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN`.
    pub register_per_ip_per_min: u32,
    /// `CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN`.
    pub login_per_ip_per_min: u32,
    /// `CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN`.
    pub login_per_account_per_min: u32,
    /// Messages sent (send, forward, broadcast; WebSocket or REST) by one user, all devices.
    /// `CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN`.
    pub send_per_user_per_min: u32,
    /// Messages sent from one IP address, all users. `CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN`.
    pub send_per_ip_per_min: u32,
    /// Typing frames of one user, all devices and chats.
    /// `CONFAB_RATE_LIMIT_TYPING_PER_USER_PER_MIN`.
    pub typing_per_user_per_min: u32,
    /// Typing frames from one IP address. `CONFAB_RATE_LIMIT_TYPING_PER_IP_PER_MIN`.
    pub typing_per_ip_per_min: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./data"),
            log: "info".into(),
            storage: StorageConfig::default(),
            auth: AuthConfig::default(),
            http: HttpConfig::default(),
            rate_limit: RateLimitConfig::default(),
            chat: ChatConfig::default(),
            notifications: NotificationsConfig::default(),
            cluster: ClusterConfig::default(),
            status: StatusConfig::default(),
            calls: CallsConfig::default(),
            media: MediaConfig::default(),
        }
    }
}

impl NotificationsConfig {
    pub fn engine(&self) -> confab_engine::notify::NotifyConfig {
        use std::time::Duration;
        confab_engine::notify::NotifyConfig {
            coalesce: Duration::from_millis(self.coalesce_ms),
            inbox: self.inbox,
            webhook: self
                .webhook_url
                .clone()
                .map(|url| confab_engine::notify::WebhookConfig {
                    url,
                    secret: self.webhook_secret.clone(),
                    timeout: Duration::from_millis(self.webhook_timeout_ms),
                    attempts: self.webhook_attempts,
                    backoff: Duration::from_millis(self.webhook_backoff_ms),
                }),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: "embedded".into(),
            scylla: confab_storage::scylla::ScyllaConfig::default(),
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 30 * 24 * 3600,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024,
            workers: 0,
            shutdown_timeout_secs: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            register_per_ip_per_min: 30,
            login_per_ip_per_min: 60,
            login_per_account_per_min: 10,
            send_per_user_per_min: 600,
            send_per_ip_per_min: 6000,
            typing_per_user_per_min: 240,
            typing_per_ip_per_min: 2400,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("invalid value for {var}: {message}")]
    Env { var: &'static str, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// The SFU's settings, from `[calls]`.
    pub fn sfu(&self) -> confab_signalling::sfu::SfuConfig {
        confab_signalling::sfu::SfuConfig {
            bind_ips: self.calls.udp_ips.clone(),
            port_min: self.calls.udp_port_min,
            port_max: self.calls.udp_port_max,
            public_ip: self.calls.public_ip,
        }
    }

    pub fn call_config(&self) -> confab_signalling::call::CallConfig {
        confab_signalling::call::CallConfig {
            ring_timeout: std::time::Duration::from_secs(self.calls.ring_timeout_secs),
            reconnect_grace: std::time::Duration::from_secs(self.calls.reconnect_grace_secs),
            ice_servers: self.calls.ice_servers.clone(),
        }
    }

    /// Defaults, then `file` if given, then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.into(),
                    source,
                })?;
                toml::from_str(&text).map_err(|source| ConfigError::Parse {
                    path: path.into(),
                    source,
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &'static str, value: String) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env {
                var: name,
                message: e.to_string(),
            })
        }
        macro_rules! env {
            ($name:literal => $field:expr) => {
                if let Some(v) = var($name) {
                    $field = parse($name, v)?;
                }
            };
        }
        env!("CONFAB_LISTEN" => self.listen);
        env!("CONFAB_DATA_DIR" => self.data_dir);
        env!("CONFAB_LOG" => self.log);
        env!("CONFAB_STORAGE_BACKEND" => self.storage.backend);
        if let Some(v) = var("CONFAB_STORAGE_SCYLLA_CONTACT_POINTS") {
            self.storage.scylla.contact_points = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
        env!("CONFAB_STORAGE_SCYLLA_KEYSPACE" => self.storage.scylla.keyspace);
        env!("CONFAB_STORAGE_SCYLLA_CONSISTENCY" => self.storage.scylla.consistency);
        if let Some(v) = var("CONFAB_AUTH_JWT_SECRET") {
            self.auth.jwt_secret = Some(v);
        }
        env!("CONFAB_AUTH_ACCESS_TTL_SECS" => self.auth.access_ttl_secs);
        env!("CONFAB_AUTH_REFRESH_TTL_SECS" => self.auth.refresh_ttl_secs);
        env!("CONFAB_HTTP_MAX_BODY_BYTES" => self.http.max_body_bytes);
        env!("CONFAB_HTTP_WORKERS" => self.http.workers);
        env!("CONFAB_HTTP_SHUTDOWN_TIMEOUT_SECS" => self.http.shutdown_timeout_secs);
        if let Some(v) = var("CONFAB_HTTP_TRUSTED_PROXIES") {
            self.http.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| parse("CONFAB_HTTP_TRUSTED_PROXIES", s.to_owned()))
                .collect::<Result<_, _>>()?;
        }
        env!("CONFAB_RATE_LIMIT_REGISTER_PER_IP_PER_MIN" => self.rate_limit.register_per_ip_per_min);
        env!("CONFAB_RATE_LIMIT_LOGIN_PER_IP_PER_MIN" => self.rate_limit.login_per_ip_per_min);
        env!("CONFAB_RATE_LIMIT_LOGIN_PER_ACCOUNT_PER_MIN" => self.rate_limit.login_per_account_per_min);
        env!("CONFAB_RATE_LIMIT_SEND_PER_USER_PER_MIN" => self.rate_limit.send_per_user_per_min);
        env!("CONFAB_RATE_LIMIT_SEND_PER_IP_PER_MIN" => self.rate_limit.send_per_ip_per_min);
        env!("CONFAB_RATE_LIMIT_TYPING_PER_USER_PER_MIN" => self.rate_limit.typing_per_user_per_min);
        env!("CONFAB_RATE_LIMIT_TYPING_PER_IP_PER_MIN" => self.rate_limit.typing_per_ip_per_min);
        env!("CONFAB_CHAT_THREADS" => self.chat.threads);
        env!("CONFAB_CHAT_IDLE_SECS" => self.chat.idle_secs);
        env!("CONFAB_CHAT_MAX_GROUP_MEMBERS" => self.chat.max_group_members);
        env!("CONFAB_CHAT_EDIT_WINDOW_SECS" => self.chat.edit_window_secs);
        env!("CONFAB_CHAT_DELETE_WINDOW_SECS" => self.chat.delete_window_secs);
        env!("CONFAB_MEDIA_BACKEND" => self.media.backend);
        if let Some(v) = var("CONFAB_MEDIA_DIR") {
            self.media.dir = Some(PathBuf::from(v));
        }
        env!("CONFAB_MEDIA_IMAGE_MAX_BYTES" => self.media.image_max_bytes);
        env!("CONFAB_MEDIA_VIDEO_MAX_BYTES" => self.media.video_max_bytes);
        env!("CONFAB_MEDIA_AUDIO_MAX_BYTES" => self.media.audio_max_bytes);
        env!("CONFAB_MEDIA_VOICE_MAX_BYTES" => self.media.voice_max_bytes);
        env!("CONFAB_MEDIA_DOCUMENT_MAX_BYTES" => self.media.document_max_bytes);
        env!("CONFAB_MEDIA_STICKER_MAX_BYTES" => self.media.sticker_max_bytes);
        env!("CONFAB_MEDIA_MAX_IMAGE_PIXELS" => self.media.max_image_pixels);
        env!("CONFAB_MEDIA_THUMBNAIL_PX" => self.media.thumbnail_px);
        env!("CONFAB_MEDIA_CACHE_MAX_AGE_SECS" => self.media.cache_max_age_secs);
        env!("CONFAB_MEDIA_S3_BUCKET" => self.media.s3.bucket);
        env!("CONFAB_MEDIA_S3_REGION" => self.media.s3.region);
        env!("CONFAB_MEDIA_S3_ENDPOINT" => self.media.s3.endpoint);
        env!("CONFAB_MEDIA_S3_PREFIX" => self.media.s3.prefix);
        env!("CONFAB_MEDIA_S3_ALLOW_HTTP" => self.media.s3.allow_http);
        let n = &mut self.notifications;
        env!("CONFAB_NOTIFICATIONS_COALESCE_MS" => n.coalesce_ms);
        env!("CONFAB_NOTIFICATIONS_INBOX" => n.inbox);
        if let Some(v) = var("CONFAB_NOTIFICATIONS_WEBHOOK_URL") {
            n.webhook_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("CONFAB_NOTIFICATIONS_WEBHOOK_SECRET") {
            n.webhook_secret = Some(v).filter(|v| !v.is_empty());
        }
        env!("CONFAB_NOTIFICATIONS_WEBHOOK_TIMEOUT_MS" => n.webhook_timeout_ms);
        env!("CONFAB_NOTIFICATIONS_WEBHOOK_ATTEMPTS" => n.webhook_attempts);
        env!("CONFAB_NOTIFICATIONS_WEBHOOK_BACKOFF_MS" => n.webhook_backoff_ms);
        let c = &mut self.cluster;
        if let Some(v) = var("CONFAB_CLUSTER_REDIS_URL") {
            c.redis_url = Some(v).filter(|v| !v.is_empty());
        }
        if let Some(v) = var("CONFAB_CLUSTER_NODE_ID") {
            c.node_id = Some(parse("CONFAB_CLUSTER_NODE_ID", v)?);
        }
        env!("CONFAB_CLUSTER_HEARTBEAT_MS" => c.heartbeat_ms);
        env!("CONFAB_CLUSTER_NODE_TTL_MS" => c.node_ttl_ms);
        env!("CONFAB_CLUSTER_FORWARD_TIMEOUT_MS" => c.forward_timeout_ms);
        env!("CONFAB_STATUS_TTL_SECS" => self.status.ttl_secs);
        env!("CONFAB_STATUS_SWEEP_INTERVAL_SECS" => self.status.sweep_interval_secs);
        env!("CONFAB_CALLS_RING_TIMEOUT_SECS" => self.calls.ring_timeout_secs);
        env!("CONFAB_CALLS_RECONNECT_GRACE_SECS" => self.calls.reconnect_grace_secs);
        if let Some(v) = var("CONFAB_CALLS_UDP_IPS") {
            self.calls.udp_ips = v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|ip| parse("CONFAB_CALLS_UDP_IPS", ip.to_owned()))
                .collect::<Result<_, _>>()?;
        }
        env!("CONFAB_CALLS_UDP_PORT_MIN" => self.calls.udp_port_min);
        env!("CONFAB_CALLS_UDP_PORT_MAX" => self.calls.udp_port_max);
        if let Some(v) = var("CONFAB_CALLS_PUBLIC_IP") {
            self.calls.public_ip = match v.trim() {
                "" => None,
                ip => Some(parse("CONFAB_CALLS_PUBLIC_IP", ip.to_owned())?),
            };
        }
        if let Some(v) = var("CONFAB_CALLS_ICE_SERVERS") {
            self.calls.ice_servers = serde_json::from_str(&v).map_err(|e| ConfigError::Env {
                var: "CONFAB_CALLS_ICE_SERVERS",
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let calls = &self.calls;
        if calls.ring_timeout_secs == 0 || calls.reconnect_grace_secs == 0 {
            return Err(ConfigError::Invalid(
                "calls: ring_timeout_secs and reconnect_grace_secs must be at least 1".into(),
            ));
        }
        if calls.udp_ips.is_empty() {
            return Err(ConfigError::Invalid(
                "calls.udp_ips: at least one IP".into(),
            ));
        }
        let ephemeral = calls.udp_port_min == 0 && calls.udp_port_max == 0;
        if !ephemeral && (calls.udp_port_min == 0 || calls.udp_port_min > calls.udp_port_max) {
            return Err(ConfigError::Invalid(
                "calls.udp_port_min..udp_port_max: a non-empty range of non-zero ports (or both 0)"
                    .into(),
            ));
        }
        if calls.ice_servers.iter().any(|s| s.urls.is_empty()) {
            return Err(ConfigError::Invalid(
                "calls.ice_servers: every server needs at least one url".into(),
            ));
        }
        match self.storage.backend.as_str() {
            "embedded" => {}
            "scylla" => {
                if let Err(e) = self.storage.scylla.check() {
                    return Err(ConfigError::Invalid(format!("storage.scylla: {e}")));
                }
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "storage.backend = {other:?}: use \"embedded\" or \"scylla\""
                )))
            }
        }
        if let Some(secret) = &self.auth.jwt_secret {
            if secret.len() < 32 {
                return Err(ConfigError::Invalid(
                    "auth.jwt_secret must be at least 32 bytes".into(),
                ));
            }
        }
        if self.auth.access_ttl_secs == 0 || self.auth.refresh_ttl_secs == 0 {
            return Err(ConfigError::Invalid(
                "auth token lifetimes must be positive".into(),
            ));
        }
        let rl = &self.rate_limit;
        if [
            rl.register_per_ip_per_min,
            rl.login_per_ip_per_min,
            rl.login_per_account_per_min,
            rl.send_per_user_per_min,
            rl.send_per_ip_per_min,
            rl.typing_per_user_per_min,
            rl.typing_per_ip_per_min,
        ]
        .contains(&0)
        {
            return Err(ConfigError::Invalid(
                "rate limits must be at least 1 per minute".into(),
            ));
        }
        if self.chat.idle_secs == 0 || !(2..=100_000).contains(&self.chat.max_group_members) {
            return Err(ConfigError::Invalid(
                "chat.idle_secs must be positive and chat.max_group_members 2 to 100000".into(),
            ));
        }
        let c = &self.cluster;
        if c.redis_url.is_some() {
            if self.storage.backend != "scylla" {
                return Err(ConfigError::Invalid(
                    "cluster.redis_url needs storage.backend = \"scylla\": the embedded store \
                     belongs to one process"
                        .into(),
                ));
            }
            if c.heartbeat_ms == 0
                || c.node_ttl_ms < 2 * c.heartbeat_ms
                || c.forward_timeout_ms == 0
            {
                return Err(ConfigError::Invalid(
                    "cluster: heartbeat_ms must be positive and node_ttl_ms at least twice it"
                        .into(),
                ));
            }
        }
        let n = &self.notifications;
        if let Some(url) = &n.webhook_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(ConfigError::Invalid(
                    "notifications.webhook_url must be an http:// or https:// URL".into(),
                ));
            }
        }
        if n.webhook_attempts == 0 || n.webhook_timeout_ms == 0 {
            return Err(ConfigError::Invalid(
                "notifications.webhook_attempts and webhook_timeout_ms must be positive".into(),
            ));
        }
        if self.status.ttl_secs == 0 || self.status.sweep_interval_secs == 0 {
            return Err(ConfigError::Invalid(
                "status.ttl_secs and status.sweep_interval_secs must be positive".into(),
            ));
        }
        let m = &self.media;
        match m.backend.as_str() {
            "local" => {}
            "s3" if !m.s3.bucket.is_empty() => {}
            "s3" => {
                return Err(ConfigError::Invalid(
                    "media.backend = \"s3\" needs media.s3.bucket".into(),
                ))
            }
            other => {
                return Err(ConfigError::Invalid(format!(
                    "media.backend = {other:?}: use \"local\" or \"s3\""
                )))
            }
        }
        if !(16..=2048).contains(&m.thumbnail_px) || m.max_image_pixels == 0 {
            return Err(ConfigError::Invalid(
                "media.thumbnail_px must be 16 to 2048 and media.max_image_pixels positive".into(),
            ));
        }
        if self.http.max_body_bytes < 1024 {
            return Err(ConfigError::Invalid(
                "http.max_body_bytes must be at least 1024".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_file_and_defaults() {
        let mut c: Config =
            toml::from_str("listen = \"0.0.0.0:9000\"\n[auth]\naccess_ttl_secs = 60\n").unwrap();
        assert_eq!(
            c.auth.refresh_ttl_secs,
            AuthConfig::default().refresh_ttl_secs
        );
        c.apply_env(|n| (n == "CONFAB_AUTH_ACCESS_TTL_SECS").then(|| "5".to_string()))
            .unwrap();
        assert_eq!(c.auth.access_ttl_secs, 5);
        assert_eq!(c.listen.port(), 9000);
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let mut c = Config::default();
        let err = c
            .apply_env(|n| (n == "CONFAB_LISTEN").then(|| "nope".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("CONFAB_LISTEN"), "{err}");
    }

    #[test]
    fn scylla_section_and_env_overrides() {
        let mut c: Config = toml::from_str(
            "[storage]\nbackend = \"scylla\"\n[storage.scylla]\nkeyspace = \"chat\"\n",
        )
        .unwrap();
        assert_eq!(c.storage.scylla.keyspace, "chat");
        assert_eq!(c.storage.scylla.consistency, "local_quorum");
        c.apply_env(|n| match n {
            "CONFAB_STORAGE_SCYLLA_CONTACT_POINTS" => Some("10.0.0.1:9042, 10.0.0.2:9042".into()),
            "CONFAB_STORAGE_SCYLLA_CONSISTENCY" => Some("quorum".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            c.storage.scylla.contact_points,
            vec!["10.0.0.1:9042".to_string(), "10.0.0.2:9042".to_string()]
        );
        assert_eq!(c.storage.scylla.consistency, "quorum");
        c.validate().unwrap();
        c.storage.scylla.consistency = "two".into();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("consistency"));
        c.storage.backend = "postgres".into();
        assert!(c.validate().is_err());
    }

    #[test]
    fn status_section_and_env() {
        let mut c: Config = toml::from_str("[status]\nttl_secs = 3600\n").unwrap();
        assert_eq!(c.status.ttl_secs, 3600);
        assert_eq!(c.status.sweep_interval_secs, 60);
        c.apply_env(|n| (n == "CONFAB_STATUS_TTL_SECS").then(|| "2".to_string()))
            .unwrap();
        assert_eq!(c.status.ttl_secs, 2);
        c.validate().unwrap();
        c.status.sweep_interval_secs = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn calls_section_env_and_validation() {
        let mut c: Config = toml::from_str(
            "[calls]\nring_timeout_secs = 30\nudp_port_min = 50000\nudp_port_max = 50099\n\
             [[calls.ice_servers]]\nurls = [\"stun:stun.example.org\"]\n",
        )
        .unwrap();
        assert_eq!(c.calls.reconnect_grace_secs, 15);
        assert_eq!(c.calls.ice_servers[0].urls, vec!["stun:stun.example.org"]);
        c.apply_env(|n| match n {
            "CONFAB_CALLS_UDP_IPS" => Some("127.0.0.1, 10.0.0.5".into()),
            "CONFAB_CALLS_PUBLIC_IP" => Some("203.0.113.7".into()),
            "CONFAB_CALLS_ICE_SERVERS" => {
                Some(r#"[{"urls":["turn:t"],"username":"u","credential":"p"}]"#.into())
            }
            _ => None,
        })
        .unwrap();
        assert!(c.validate().is_ok());
        let sfu = c.sfu();
        assert_eq!(sfu.bind_ips.len(), 2);
        assert_eq!((sfu.port_min, sfu.port_max), (50000, 50099));
        assert_eq!(sfu.public_ip, Some([203, 0, 113, 7].into()));
        assert_eq!(
            c.call_config().ice_servers[0].username.as_deref(),
            Some("u")
        );
        c.calls.udp_port_max = 49000;
        assert!(c.validate().is_err(), "an empty port range is refused");
        let err = Config::default()
            .apply_env(|n| (n == "CONFAB_CALLS_ICE_SERVERS").then(|| "[{}]".to_string()))
            .unwrap_err();
        assert!(
            err.to_string().contains("CONFAB_CALLS_ICE_SERVERS"),
            "{err}"
        );
        assert!(toml::from_str::<Config>("[calls]\nring_timeout = 3\n").is_err());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
    }
}
