// Explanations for the findings mailtap itself raises (not a decoder): the relay and its
// upstream, TLS interception and certificates, the store, imports, replay and mock.
// Keyed 'note.CODE' like notes.ts; the dashboard shows them in the user's language.
import type { ExplainTable } from './index.ts'

export const PROXY_NOTES_EXPLAIN: ExplainTable = {
  // --- The upstream and the "wrong port or TLS mode" family ------------------
  'note.UPSTREAM_NO_GREETING': {
    en: 'The server accepted the connection but said nothing. SMTP, POP3 and IMAP servers greet first, so it is probably waiting for a TLS handshake (implicit TLS port: 465, 993, 995).',
    es: 'El servidor aceptó la conexión pero no dijo nada. Los servidores SMTP, POP3 e IMAP saludan primero, así que probablemente espera una negociación TLS (puerto de TLS implícito: 465, 993, 995).',
    ref: 'RFC 8314 §3',
  },
  'note.UPSTREAM_UNREACHABLE': {
    en: 'mailtap could not connect to the real server (refused, unknown host or timeout) and answered the client with a temporary error in its stead.',
    es: 'mailtap no pudo conectar con el servidor real (rechazo, nombre desconocido o tiempo agotado) y respondió al cliente con un error temporal en su lugar.',
  },
  'note.UPSTREAM_SPEAKS_TLS': {
    en: 'The server answered with TLS on a connection opened in plain text: its port uses implicit TLS. Use smtps://, imaps:// or pop3s:// for this upstream.',
    es: 'El servidor respondió con TLS en una conexión abierta en claro: su puerto usa TLS implícito. Usa smtps://, imaps:// o pop3s:// para este servidor.',
    ref: 'RFC 8314 §3',
  },
  'note.UPSTREAM_SPEAKS_PLAINTEXT': {
    en: 'The server answered in plain text on a connection opened with TLS: its port speaks plain text first (STARTTLS). Use smtp://, imap:// or pop3:// for this upstream.',
    es: 'El servidor respondió en claro en una conexión abierta con TLS: su puerto habla primero en claro (STARTTLS). Usa smtp://, imap:// o pop3:// para este servidor.',
    ref: 'RFC 3207 §2',
  },
  'note.PLAINTEXT_ON_TLS_PORT': {
    en: 'The client sent plain text to a listener that expects TLS from the first byte. Set the client to SSL/TLS for this port, or make the listener plain text and use STARTTLS.',
    es: 'El cliente envió texto en claro a un puerto que espera TLS desde el primer byte. Configura el cliente con SSL/TLS para este puerto, o haz el puerto en claro y usa STARTTLS.',
    ref: 'RFC 8314 §3',
  },

  // --- TLS handshakes --------------------------------------------------------
  'note.TLS_CLIENT_REJECTED_CERT': {
    en: "The client refused the certificate mailtap presented in the server's name: it does not trust mailtap's CA. Install the CA (mailtap ca) or turn off certificate checks in a test client.",
    es: 'El cliente rechazó el certificado que mailtap presentó en nombre del servidor: no confía en la CA de mailtap. Instala la CA (mailtap ca) o desactiva la comprobación de certificados en un cliente de pruebas.',
    ref: 'RFC 8446 §6.2',
  },
  'note.TLS_HANDSHAKE_ABORTED': {
    en: 'One side closed the connection before or during the TLS handshake. A client that does not trust the certificate often just hangs up.',
    es: 'Uno de los lados cerró la conexión antes o durante la negociación TLS. Un cliente que no confía en el certificado a menudo simplemente cuelga.',
  },
  'note.TLS_HANDSHAKE_TIMEOUT': {
    en: 'The TLS handshake did not finish in time: the other side stopped answering.',
    es: 'La negociación TLS no terminó a tiempo: el otro lado dejó de responder.',
  },
  'note.TLS_HANDSHAKE_FAILED': {
    en: 'The TLS handshake failed; the text gives OpenSSL\'s reason.',
    es: 'La negociación TLS falló; el texto da el motivo de OpenSSL.',
  },
  'note.TLS_UPGRADE_FAILED': {
    en: 'The switch to TLS after STARTTLS/STLS failed; the text gives the reason.',
    es: 'El paso a TLS tras STARTTLS/STLS falló; el texto da el motivo.',
    ref: 'RFC 3207 §4',
  },
  'note.TLS_CLIENT_SENT_PLAINTEXT': {
    en: 'mailtap expected a TLS handshake but the client sent plain text: wrong port or TLS mode in the client.',
    es: 'mailtap esperaba una negociación TLS pero el cliente envió texto en claro: puerto o modo TLS equivocado en el cliente.',
    ref: 'RFC 8314 §3',
  },
  'note.TLS_CLIENT_NO_HELLO': {
    en: 'The client connected to a TLS port but never started the handshake: it is probably waiting for a plain-text greeting (wrong port or TLS mode).',
    es: 'El cliente se conectó a un puerto TLS pero nunca empezó la negociación: probablemente espera un saludo en claro (puerto o modo TLS equivocado).',
    ref: 'RFC 8314 §3',
  },
  'note.TLS_NO_COMMON_PARAMETERS': {
    en: 'The two sides share no TLS version or cipher. Old software may offer only TLS 1.0/1.1, which modern OpenSSL refuses.',
    es: 'Los dos lados no comparten ninguna versión ni cifrado TLS. Un software antiguo puede ofrecer solo TLS 1.0/1.1, que OpenSSL moderno rechaza.',
    ref: 'RFC 8996',
  },
  'note.TLS_UPSTREAM_SENT_PLAINTEXT': {
    en: 'mailtap started TLS towards the server and it answered in plain text: its port speaks plain text first (use smtp://, imap:// or pop3://).',
    es: 'mailtap inició TLS hacia el servidor y este respondió en claro: su puerto habla primero en claro (usa smtp://, imap:// o pop3://).',
    ref: 'RFC 8314 §3',
  },
  'note.TLS_UPSTREAM_UNREACHABLE': {
    en: 'mailtap could not open the TCP connection to the TLS server (refused, unknown host or timeout).',
    es: 'mailtap no pudo abrir la conexión TCP con el servidor TLS (rechazo, nombre desconocido o tiempo agotado).',
  },
  'note.TLS_UPSTREAM_CERT_REFUSED': {
    en: "The server's certificate failed verification and mailtap runs with --upstream-verify strict, so it would not go on.",
    es: 'El certificado del servidor no superó la verificación y mailtap funciona con --upstream-verify strict, así que no continuó.',
    ref: 'RFC 6125 §6',
  },
  'note.TLS_UPSTREAM_CERT_INVALID': {
    en: "The server's certificate did not verify; the text says why. The session went on, but a real client would refuse it.",
    es: 'El certificado del servidor no se pudo verificar; el texto explica por qué. La sesión siguió, pero un cliente real lo rechazaría.',
    ref: 'RFC 6125 §6',
  },

  // --- The upstream certificate, by kind ------------------------------------
  'note.TLS_CERT_HOSTNAME_MISMATCH': {
    en: "The server's certificate does not name the host that was dialled. Clients refuse it unless they connect by one of the names in the certificate.",
    es: 'El certificado del servidor no nombra al host al que se llamó. Los clientes lo rechazan salvo que se conecten con uno de los nombres del certificado.',
    ref: 'RFC 6125 §6.4',
  },
  'note.TLS_CERT_EXPIRED': {
    en: "The server's certificate has expired. Clients refuse it; renew it (and check the server's clock).",
    es: 'El certificado del servidor ha caducado. Los clientes lo rechazan; renuévalo (y revisa el reloj del servidor).',
    ref: 'RFC 5280 §4.1.2.5',
  },
  'note.TLS_CERT_NOT_YET_VALID': {
    en: "The server's certificate is not valid yet: its start date is in the future. Usually a wrong clock on one side.",
    es: 'El certificado del servidor aún no es válido: su fecha de inicio está en el futuro. Suele ser un reloj equivocado en un lado.',
    ref: 'RFC 5280 §4.1.2.5',
  },
  'note.TLS_CERT_SELF_SIGNED': {
    en: "The server's certificate is self-signed: no authority vouches for it. Fine in a lab if clients are told to trust it, refused everywhere else.",
    es: 'El certificado del servidor está autofirmado: ninguna autoridad lo avala. Vale en un laboratorio si se indica a los clientes que confíen en él; en cualquier otro sitio se rechaza.',
    ref: 'RFC 5280 §6.1',
  },
  'note.TLS_CERT_UNKNOWN_CA': {
    en: "The server's certificate chains to an authority that is not trusted here, or the server does not send its intermediate certificates.",
    es: 'El certificado del servidor depende de una autoridad en la que aquí no se confía, o el servidor no envía sus certificados intermedios.',
    ref: 'RFC 5280 §6.1',
  },
  'note.TLS_CERT_MISSING': {
    en: 'The server presented no certificate at all.',
    es: 'El servidor no presentó ningún certificado.',
    ref: 'RFC 8446 §4.4.2',
  },
  'note.TLS_CERT_INVALID': {
    en: "The server's certificate failed verification for another reason; the text gives OpenSSL's code.",
    es: 'El certificado del servidor no superó la verificación por otro motivo; el texto da el código de OpenSSL.',
    ref: 'RFC 5280 §6.1',
  },

  // --- Recording and import --------------------------------------------------
  'note.RECORDING_GAP': {
    en: 'Part of the traffic could not be saved (disk full or too slow). Forwarding went on; the recording is missing what crossed meanwhile.',
    es: 'Parte del tráfico no se pudo guardar (disco lleno o demasiado lento). El reenvío siguió; a la grabación le falta lo que pasó mientras tanto.',
  },
  'note.IMPORT_PLACEHOLDER_ENCODED': {
    en: 'The transcript hid a value behind a placeholder; mailtap encoded the placeholder itself in base64 so the exchange still decodes.',
    es: 'La transcripción ocultaba un valor tras un marcador; mailtap codificó el propio marcador en base64 para que el intercambio se pueda decodificar.',
    ref: 'RFC 4648 §4',
  },
  'note.IMPORT_FROM_EXPORT': {
    en: 'This session was imported from a mailtap export; times and bytes are those of the original.',
    es: 'Esta sesión se importó de una exportación de mailtap; los tiempos y bytes son los del original.',
  },
  'note.IMPORT_NOT_UTF8': {
    en: 'The transcript was not UTF-8: it was read as Latin-1 and its bytes kept as they were.',
    es: 'La transcripción no estaba en UTF-8: se leyó como Latin-1 y sus bytes se conservaron tal cual.',
  },
  'note.IMPORT_REDACTED': {
    en: 'The export was redacted: secrets were masked, so AUTH steps that carried them decode as invalid.',
    es: 'La exportación estaba censurada: los secretos se ocultaron, así que los pasos de AUTH que los llevaban se decodifican como inválidos.',
  },

  'note.IMPORT_PROTOCOL_GUESSED': {
    en: 'The transcript did not say its protocol; mailtap guessed it from the greeting or the commands.',
    es: 'La transcripción no indicaba su protocolo; mailtap lo dedujo del saludo o de las órdenes.',
  },
  'note.IMPORT_ELIDED': {
    en: 'The transcript leaves some bytes out here ("…" or a comment): what follows may not decode as it did on the wire.',
    es: 'La transcripción omite aquí algunos bytes ("…" o un comentario): lo que sigue puede no decodificarse como en la conexión real.',
  },
  'note.IMPORT_UNPREFIXED_LINES': {
    en: 'Some lines had no C: or S: prefix; they were taken as continuing the side before them.',
    es: 'Algunas líneas no tenían el prefijo C: o S:; se tomaron como continuación del lado anterior.',
  },
  'note.IMPORT_BLANK_LINES_IGNORED': {
    en: 'Blank lines between the transcript lines were taken as layout and ignored.',
    es: 'Las líneas en blanco entre las líneas de la transcripción se tomaron como formato y se ignoraron.',
  },
  'note.IMPORT_NO_SERVER_LINES': {
    en: 'No server lines were found. In this style the server\'s lines start with ">".',
    es: 'No se encontraron líneas del servidor. En este formato las líneas del servidor empiezan por ">".',
  },
  'note.IMPORT_FIXED_UNTAGGED': {
    en: 'An IMAP untagged response was missing its "* " and was read as one.',
    es: 'A una respuesta IMAP sin etiqueta le faltaba el "* " y se leyó como tal.',
    ref: 'RFC 9051 §2.2.2',
  },
  'note.IMPORT_FIXED_LITERAL_BRACE': {
    en: 'A mistyped IMAP literal marker was read as {N}.',
    es: 'Un marcador de literal IMAP mal escrito se leyó como {N}.',
    ref: 'RFC 9051 §4.3',
  },
  'note.IMPORT_LITERAL_ELIDED': {
    en: 'The transcript announced an IMAP literal but left its content out; the marker was removed so the lines after it decode.',
    es: 'La transcripción anunciaba un literal IMAP pero omitía su contenido; se quitó el marcador para que las líneas siguientes se decodifiquen.',
    ref: 'RFC 9051 §4.3',
  },
  'note.IMPORT_LITERAL_RESIZED': {
    en: 'The size announced for an IMAP literal did not match the bytes the transcript gives; it was resized to what is there.',
    es: 'El tamaño anunciado de un literal IMAP no coincidía con los bytes de la transcripción; se ajustó a lo que hay.',
    ref: 'RFC 9051 §4.3',
  },
  'note.IMAP_TLS_BYTES': {
    en: 'These bytes belong to the TLS handshake or to encrypted traffic: they are counted, not decoded.',
    es: 'Estos bytes pertenecen a la negociación TLS o a tráfico cifrado: se cuentan, no se decodifican.',
  },

  // --- Replay (a recorded client sent again to a server) ---------------------
  'note.REPLAY_AUTH_NOT_RECOMPUTABLE': {
    en: 'This authentication cannot be recomputed for new credentials (or lacks the challenge it depends on), so the recorded answer is sent as it was.',
    es: 'Esta autenticación no se puede recalcular con credenciales nuevas (o le falta el desafío del que depende), así que se envía la respuesta grabada tal cual.',
    ref: 'RFC 4422 §3',
  },
  'note.REPLAY_AUTH_NEEDS_PASSWORD': {
    en: "The recording authenticates with a challenge-response mechanism: the answer depends on the server's new challenge. Give a user and password to replay it successfully.",
    es: 'La grabación se autentica con un mecanismo de desafío-respuesta: la respuesta depende del nuevo desafío del servidor. Indica usuario y contraseña para reproducirla con éxito.',
    ref: 'RFC 2195 §2',
  },
  'note.REPLAY_EXTRA_RESPONSES': {
    en: 'The server sent more responses for this turn than the recording has.',
    es: 'El servidor envió más respuestas en este turno de las que tiene la grabación.',
  },
  'note.REPLAY_MAILBOX_STATE': {
    en: 'The mailbox holds a different number of messages than when it was recorded: commands that name messages by number may now touch other messages.',
    es: 'El buzón tiene un número de mensajes distinto al de la grabación: las órdenes que nombran mensajes por número pueden tocar ahora otros mensajes.',
  },
  'note.REPLAY_NO_GREETING': {
    en: 'The server did not greet within the time limit (wrong port or TLS mode?).',
    es: 'El servidor no saludó dentro del plazo (¿puerto o modo TLS equivocado?).',
  },
  'note.REPLAY_NO_RESPONSE': {
    en: 'The server did not answer this command within the time limit.',
    es: 'El servidor no respondió a esta orden dentro del plazo.',
  },
  'note.REPLAY_SERVER_CLOSED': {
    en: 'The server closed the connection before the replay was over; the remaining exchanges got no answer.',
    es: 'El servidor cerró la conexión antes de terminar la reproducción; los intercambios restantes no recibieron respuesta.',
  },
  'note.REPLAY_STARTTLS_REFUSED': {
    en: 'The recording switched to TLS here, but the server did not accept STARTTLS/STLS, so the replay went on in plain text.',
    es: 'La grabación pasaba a TLS aquí, pero el servidor no aceptó STARTTLS/STLS, así que la reproducción siguió en claro.',
    ref: 'RFC 3207 §4',
  },
  'note.REPLAY_UNREACHABLE': {
    en: 'The replay could not connect to the target server.',
    es: 'La reproducción no pudo conectar con el servidor de destino.',
  },

  // --- Mock (a recorded server answering new clients) ------------------------
  'note.MOCK_UNEXPECTED_COMMAND': {
    en: 'The client sent a command the recording does not have at this point; the mock answered it as best it could. This is where the client departs from the recording.',
    es: 'El cliente envió una orden que la grabación no tiene en este punto; el simulador la respondió lo mejor que pudo. Aquí es donde el cliente se aparta de la grabación.',
  },
  'note.MOCK_SKIPPED_COMMANDS': {
    en: 'The client left out commands the recorded client sent; the mock skipped ahead to the one it sent.',
    es: 'El cliente omitió órdenes que el cliente grabado envió; el simulador saltó hasta la que envió.',
  },
  'note.MOCK_UNRECORDED_ANSWERED': {
    en: 'The client sent a harmless command that is not in the recording (NOOP, RSET, CAPA…); the mock answered it and went on.',
    es: 'El cliente envió una orden inocua que no está en la grabación (NOOP, RSET, CAPA…); el simulador la respondió y siguió.',
  },
  'note.MOCK_AUTH_MECHANISM_DIFFERS': {
    en: 'The client authenticates with a different SASL mechanism than the recording: the recorded answers may not fit.',
    es: 'El cliente se autentica con un mecanismo SASL distinto del de la grabación: las respuestas grabadas pueden no encajar.',
    ref: 'RFC 4422 §3',
  },
  'note.MOCK_SYNTHESIZED_GREETING': {
    en: 'The recording has no greeting, so the mock sent a generic one.',
    es: 'La grabación no tiene saludo, así que el simulador envió uno genérico.',
  },
  'note.MOCK_SYNTHESIZED_REPLY': {
    en: 'The recording has no answer to this command, so the mock made one up.',
    es: 'La grabación no tiene respuesta para esta orden, así que el simulador se inventó una.',
  },
  'note.MOCK_PLAINTEXT_AFTER_STARTTLS': {
    en: 'The client sent commands in plain text after STARTTLS and before the TLS handshake; the mock ignored them, as a server must.',
    es: 'El cliente envió órdenes en claro después de STARTTLS y antes de la negociación TLS; el simulador las ignoró, como debe hacer un servidor.',
    ref: 'RFC 3207 §5',
  },
  'note.MOCK_NO_CA': {
    en: 'The recording switched to TLS here, but the mock has no CA to make a certificate with, so it cannot follow.',
    es: 'La grabación pasaba a TLS aquí, pero el simulador no tiene una CA con la que crear un certificado, así que no puede seguir.',
  },
}
