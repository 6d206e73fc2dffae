// Explanations for findings (notes) of the SMTP and POP3 decoders and the ones every
// protocol shares, keyed 'note.CODE', plus the SASL mechanisms ('sasl.PLAIN'). The
// dashboard shows these in the user's language and falls back to the note's own text.
import type { ExplainTable } from './index.ts'

export const NOTES_EXPLAIN: ExplainTable = {
  // --- Shared by all protocols ----------------------------------------------
  'note.REPLY_ERROR': { en: 'The server refused the command.', es: 'El servidor rechazó la orden.' },
  'note.AUTH_CLEARTEXT': {
    en: 'Credentials travelled without encryption although the server offered STARTTLS/STLS. Anyone on the path can read them.',
    es: 'Las credenciales viajaron sin cifrar aunque el servidor ofrecía STARTTLS/STLS. Cualquiera en el camino puede leerlas.',
    ref: 'RFC 8314 §3',
  },
  'note.AUTH_INVALID_BASE64': {
    en: 'An AUTH step was not valid base64; the server will reject it.',
    es: 'Un paso de AUTH no era base64 válido; el servidor lo rechazará.',
    ref: 'RFC 4648 §4',
  },
  'note.AUTH_MALFORMED': { en: 'The SASL message does not have the shape the mechanism requires.', es: 'El mensaje SASL no tiene la forma que exige el mecanismo.', ref: 'RFC 4616 §2' },
  'note.OAUTH_ERROR': {
    en: 'The server rejected the OAuth2 token (expired, revoked, or without the mail scope). The decoded JSON says why.',
    es: 'El servidor rechazó el token OAuth2 (caducado, revocado o sin permiso de correo). El JSON decodificado explica el motivo.',
    ref: 'RFC 7628 §3.2.2',
  },
  'note.SCRAM_ERROR': { en: 'The server ended the SCRAM exchange with an error.', es: 'El servidor terminó el intercambio SCRAM con un error.', ref: 'RFC 5802 §7' },
  'note.STARTTLS_INJECTION': {
    en: 'Plaintext was sent after STARTTLS/STLS and before the TLS handshake. Those bytes must be discarded; a vulnerable server would run them as if they came through TLS (command injection).',
    es: 'Se enviaron datos en claro después de STARTTLS/STLS y antes de la negociación TLS. Deben descartarse; un servidor vulnerable los ejecutaría como si llegaran por TLS (inyección de órdenes).',
    ref: 'RFC 3207 §5',
  },
  'note.TLS_ON_PLAINTEXT_PORT': {
    en: 'The client started TLS straight away on a port that speaks plain text first: it expects implicit TLS (465, 993, 995).',
    es: 'El cliente empezó con TLS directamente en un puerto que habla primero en claro: espera TLS implícito (465, 993, 995).',
    ref: 'RFC 8314 §3',
  },
  'note.TLS_PASSTHROUGH': {
    en: 'TLS passthrough: the session is encrypted end to end and mailtap only counts bytes.',
    es: 'TLS de paso: la sesión va cifrada de extremo a extremo y mailtap solo cuenta bytes.',
  },
  'note.DECODER_ERROR': {
    en: 'mailtap could not decode this session further (a bug in mailtap); the raw bytes are still recorded.',
    es: 'mailtap no pudo seguir decodificando esta sesión (un fallo de mailtap); los bytes en bruto siguen grabados.',
  },

  // --- SMTP -----------------------------------------------------------------
  'note.SMTP_AUTH_FAILED': {
    en: 'Authentication failed (535 5.7.8): wrong user name or password, or the provider requires an app password (Gmail, Outlook with two-step verification).',
    es: 'La autenticación falló (535 5.7.8): usuario o contraseña incorrectos, o el proveedor exige una contraseña de aplicación (Gmail, Outlook con verificación en dos pasos).',
    ref: 'RFC 4954 §6',
  },
  'note.SMTP_AUTH_TOO_WEAK': {
    en: 'The server wants a stronger login method (534 5.7.9): OAuth2 or an app password.',
    es: 'El servidor quiere un método de acceso más fuerte (534 5.7.9): OAuth2 o una contraseña de aplicación.',
    ref: 'RFC 4954 §6',
  },
  'note.SMTP_STARTTLS_REQUIRED': {
    en: 'The server requires STARTTLS first (530 5.7.0): enable STARTTLS in the client, or use port 465 with TLS.',
    es: 'El servidor exige STARTTLS primero (530 5.7.0): active STARTTLS en el cliente, o use el puerto 465 con TLS.',
    ref: 'RFC 3207 §4',
  },
  'note.SMTP_AUTH_REQUIRED': {
    en: 'The server requires authentication before sending (530): configure the user and password for outgoing mail.',
    es: 'El servidor exige autenticación antes de enviar (530): configure el usuario y la contraseña del correo saliente.',
    ref: 'RFC 4954 §6',
  },
  'note.SMTP_RELAY_DENIED': {
    en: 'Relaying denied (554 5.7.1): the client is not authenticated, so the server refuses to deliver to outside domains.',
    es: 'Reenvío denegado (554 5.7.1): el cliente no está autenticado, así que el servidor se niega a entregar a dominios externos.',
    ref: 'RFC 5321 §3.6.2',
  },
  'note.SMTP_SYNC_ERROR': {
    en: 'Protocol synchronization error: the client spoke before the greeting or pipelined without permission.',
    es: 'Error de sincronización del protocolo: el cliente habló antes del saludo o encadenó órdenes sin permiso.',
    ref: 'RFC 2920 §3.1',
  },
  'note.SMTP_MAILBOX_UNKNOWN': { en: 'The recipient does not exist on this server (550 5.1.1).', es: 'El destinatario no existe en este servidor (550 5.1.1).', ref: 'RFC 3463' },
  'note.SMTP_MESSAGE_TOO_BIG': {
    en: 'The message is larger than the server accepts (compare with SIZE in EHLO).',
    es: 'El mensaje es mayor de lo que acepta el servidor (compárelo con SIZE en EHLO).',
    ref: 'RFC 1870',
  },
  'note.SMTP_MESSAGE_OVER_SIZE': {
    en: 'The message is larger than the SIZE the server announced in EHLO; expect a 552 refusal.',
    es: 'El mensaje es mayor que el SIZE que anunció el servidor en EHLO; cabe esperar un rechazo 552.',
    ref: 'RFC 1870 §6',
  },
  'note.SMTP_SIZE_UNDERSTATED': {
    en: 'The client declared a smaller SIZE in MAIL FROM than the message it sent.',
    es: 'El cliente declaró en MAIL FROM un SIZE menor que el mensaje que envió.',
    ref: 'RFC 1870 §6',
  },
  'note.SMTP_BAD_SEQUENCE': { en: 'A command came out of order (503).', es: 'Una orden llegó fuera de orden (503).', ref: 'RFC 5321 §4.1.4' },
  'note.SMTP_UNKNOWN_COMMAND': { en: 'A command the server (or SMTP) does not know.', es: 'Una orden que el servidor (o SMTP) no conoce.', ref: 'RFC 5321 §4.2.4' },
  'note.SMTP_TLS_UNAVAILABLE': { en: 'The server could not start TLS (454).', es: 'El servidor no pudo iniciar TLS (454).', ref: 'RFC 3207 §4' },
  'note.SMTP_SERVICE_CLOSING': {
    en: 'The server is closing the connection (421): timeout, overload or too many errors.',
    es: 'El servidor cierra la conexión (421): tiempo agotado, sobrecarga o demasiados errores.',
    ref: 'RFC 5321 §3.8',
  },
  'note.SMTP_OUT_OF_SEQUENCE': {
    en: 'A command sent out of order (RCPT before MAIL, DATA without an accepted recipient, MAIL before EHLO...).',
    es: 'Una orden enviada fuera de orden (RCPT antes de MAIL, DATA sin ningún destinatario aceptado, MAIL antes de EHLO...).',
    ref: 'RFC 5321 §4.1.4',
  },
  'note.SMTP_LINE_TOO_LONG': {
    en: 'A line longer than SMTP allows (512 bytes for commands and replies, 1000 for text).',
    es: 'Una línea más larga de lo que permite SMTP (512 bytes para órdenes y respuestas, 1000 para texto).',
    ref: 'RFC 5321 §4.5.3.1',
  },
  'note.SMTP_BARE_LF_TERMINATOR': {
    en: 'The end of the message used a bare LF instead of CRLF.CRLF. Servers disagree on this: it is the pattern behind SMTP smuggling.',
    es: 'El final del mensaje usó un LF suelto en lugar de CRLF.CRLF. Los servidores no coinciden en cómo tratarlo: es el patrón del «SMTP smuggling».',
    ref: 'RFC 5321 §4.1.1.4',
  },
  'note.SMTP_BODY_CUT': { en: 'The connection closed in the middle of the message; it was not delivered.', es: 'La conexión se cerró a mitad del mensaje; no se entregó.', ref: 'RFC 5321 §4.1.1.4' },
  'note.SMTP_CHUNKING_NOT_OFFERED': { en: 'BDAT used although the server did not announce CHUNKING.', es: 'Se usó BDAT aunque el servidor no anunció CHUNKING.', ref: 'RFC 3030 §2' },
  'note.SMTP_PIPELINING_NOT_OFFERED': {
    en: 'The client did not wait for replies although the server did not announce PIPELINING.',
    es: 'El cliente no esperó las respuestas aunque el servidor no anunció PIPELINING.',
    ref: 'RFC 2920 §3.1',
  },
  'note.SMTP_CLIENT_DID_NOT_WAIT': { en: 'The client kept sending without waiting for the server\'s reply.', es: 'El cliente siguió enviando sin esperar la respuesta del servidor.', ref: 'RFC 2920 §3.1' },
  'note.SMTP_EARLY_TALKER': {
    en: 'The client spoke before the server\'s greeting; many servers reject such clients as spam bots.',
    es: 'El cliente habló antes del saludo del servidor; muchos servidores rechazan a estos clientes por parecer robots de spam.',
    ref: 'RFC 5321 §3.1',
  },
  'note.SMTP_BARE_LF': {
    en: 'A command line ended with a bare LF instead of CRLF. Lenient servers accept it; strict ones refuse it.',
    es: 'Una línea de orden terminó con un LF suelto en lugar de CRLF. Los servidores tolerantes la aceptan; los estrictos la rechazan.',
    ref: 'RFC 5321 §2.3.8',
  },
  'note.SMTP_EMPTY_LINE': { en: 'An empty command line.', es: 'Una línea de orden vacía.', ref: 'RFC 5321 §4.1.1' },
  'note.SMTP_INCOMPLETE_REPLY': { en: 'A multi-line reply that never finished.', es: 'Una respuesta de varias líneas que nunca terminó.', ref: 'RFC 5321 §4.2.1' },
  'note.SMTP_MALFORMED_COMMAND': { en: 'A command line that is not valid SMTP.', es: 'Una línea de orden que no es SMTP válido.', ref: 'RFC 5321 §4.1.1' },
  'note.SMTP_MALFORMED_REPLY': {
    en: 'A server line without a 3-digit code: the server may not speak SMTP on this port.',
    es: 'Una línea del servidor sin código de 3 cifras: puede que el servidor no hable SMTP en este puerto.',
    ref: 'RFC 5321 §4.2',
  },
  'note.SMTP_NO_REPLY': { en: 'The server closed without answering some commands.', es: 'El servidor cerró sin responder a algunas órdenes.' },
  'note.SMTP_PATH_WITHOUT_BRACKETS': {
    en: 'The address is not in angle brackets (<...>) as RFC 5321 requires; lenient servers accept it.',
    es: 'La dirección no va entre ángulos (<...>) como exige el RFC 5321; los servidores tolerantes la aceptan.',
    ref: 'RFC 5321 §4.1.2',
  },
  'note.SMTP_REPLY_TRUNCATED': { en: 'A very long reply; only its first lines are kept.', es: 'Una respuesta muy larga; solo se guardan sus primeras líneas.' },
  'note.SMTP_STARTTLS_TWICE': { en: 'STARTTLS inside a session that is already encrypted.', es: 'STARTTLS dentro de una sesión que ya va cifrada.', ref: 'RFC 3207 §4' },
  'note.SMTP_SYNTAX': { en: 'A command with wrong syntax.', es: 'Una orden con sintaxis incorrecta.', ref: 'RFC 5321 §4.1' },
  'note.SMTP_TOO_MANY_PENDING': { en: 'Too many commands are waiting for replies; the oldest are no longer paired.', es: 'Demasiadas órdenes esperan respuesta; las más antiguas ya no se emparejan.' },
  'note.SMTP_UNSOLICITED_REPLY': { en: 'A reply that answers no command.', es: 'Una respuesta que no contesta a ninguna orden.', ref: 'RFC 5321 §4.2' },
  'note.SMTP_UNTERMINATED_LINE': { en: 'The connection closed after a line without its CRLF.', es: 'La conexión se cerró tras una línea sin su CRLF.', ref: 'RFC 5321 §2.3.8' },
  'note.SMTP_NO_GREETING': {
    en: 'The capture starts without the server\'s 220 greeting (a hand-written transcript or a capture started late); replies pair from the first command.',
    es: 'La captura empieza sin el saludo 220 del servidor (una transcripción escrita a mano o una captura que empezó tarde); las respuestas se emparejan desde la primera orden.',
    ref: 'RFC 5321 §3.1',
  },
  'note.SMTP_AUTH_UNANSWERED': {
    en: 'The server\'s replies to AUTH (the 334 prompts and the 235/535 verdict) are missing, so whether the login worked is unknown.',
    es: 'Faltan las respuestas del servidor a AUTH (las peticiones 334 y el veredicto 235/535), así que no se sabe si el acceso funcionó.',
    ref: 'RFC 4954 §4',
  },
  'note.SMTP_REPLY_MISSING': {
    en: 'Some commands have no reply in the capture: the next reply answers a later command, so the ones before it are left unpaired.',
    es: 'Algunas órdenes no tienen respuesta en la captura: la siguiente respuesta contesta a una orden posterior, así que las anteriores quedan sin emparejar.',
    ref: 'RFC 5321 §4.3.2',
  },

  // --- POP3 -----------------------------------------------------------------
  'note.POP3_MAILBOX_IN_USE': {
    en: 'The mailbox is locked by another session ([IN-USE]): another device or program is checking this mailbox. Close it or wait.',
    es: 'El buzón está bloqueado por otra sesión ([IN-USE]): otro dispositivo o programa está consultando este buzón. Ciérrelo o espere.',
    ref: 'RFC 2449 §8.1.1',
  },
  'note.POP3_LOGIN_DELAY': { en: 'Logged in sooner than the server allows ([LOGIN-DELAY]).', es: 'Entrada antes de lo que permite el servidor ([LOGIN-DELAY]).', ref: 'RFC 2449 §8.1.2' },
  'note.POP3_AUTH_FAILED': {
    en: 'Login failed: wrong user name or password, or the provider requires an app password.',
    es: 'El acceso falló: usuario o contraseña incorrectos, o el proveedor exige una contraseña de aplicación.',
    ref: 'RFC 3206 §5',
  },
  'note.POP3_SYS_TEMP': { en: 'A temporary server problem ([SYS/TEMP]); retry later.', es: 'Un problema temporal del servidor ([SYS/TEMP]); reintente más tarde.', ref: 'RFC 3206 §4' },
  'note.POP3_SYS_PERM': { en: 'A permanent server problem ([SYS/PERM]).', es: 'Un problema permanente del servidor ([SYS/PERM]).', ref: 'RFC 3206 §4' },
  'note.POP3_TLS_UNAVAILABLE': { en: 'The server refused STLS.', es: 'El servidor rechazó STLS.', ref: 'RFC 2595 §4' },
  'note.POP3_OUT_OF_SEQUENCE': {
    en: 'A command sent in the wrong state (e.g. LIST before logging in, or PASS without USER).',
    es: 'Una orden enviada en el estado equivocado (por ejemplo, LIST antes de iniciar sesión, o PASS sin USER).',
    ref: 'RFC 1939 §3',
  },
  'note.POP3_LINE_TOO_LONG': { en: 'A line longer than POP3 allows (255 bytes for commands, 512 for responses).', es: 'Una línea más larga de lo que permite POP3 (255 bytes para órdenes, 512 para respuestas).', ref: 'RFC 2449 §4' },
  'note.POP3_APOP_NO_TIMESTAMP': { en: 'APOP was used but the greeting had no timestamp.', es: 'Se usó APOP pero el saludo no tenía marca de tiempo.', ref: 'RFC 1939 §7' },
  'note.POP3_BARE_LF': { en: 'A command line ended with a bare LF instead of CRLF.', es: 'Una línea de orden terminó con un LF suelto en lugar de CRLF.', ref: 'RFC 1939 §3' },
  'note.POP3_BODY_CUT': { en: 'The connection closed in the middle of a message.', es: 'La conexión se cerró a mitad de un mensaje.', ref: 'RFC 1939 §3' },
  'note.POP3_SIZE_MISMATCH': {
    en: 'The size the server announced for the message (+OK n octets) differs from what it sent.',
    es: 'El tamaño que anunció el servidor para el mensaje (+OK n octets) no coincide con lo que envió.',
    ref: 'RFC 1939 §5',
  },
  'note.POP3_MESSAGE_LINE_TOO_LONG': {
    en: 'A line of the retrieved message is over 998 characters: POP3 carries it, but the message breaks RFC 5322 and some clients cut or wrap it.',
    es: 'Una línea del mensaje descargado supera los 998 caracteres: POP3 la transporta, pero el mensaje incumple RFC 5322 y algunos clientes la cortan o la parten.',
    ref: 'RFC 5322 §2.1.1',
  },
  'note.POP3_RESPONSE_CUT': { en: 'A multi-line response ended without its final dot.', es: 'Una respuesta de varias líneas terminó sin su punto final.', ref: 'RFC 1939 §3' },
  'note.POP3_LISTING_TRUNCATED': { en: 'A very long listing; only its first lines are kept.', es: 'Un listado muy largo; solo se guardan sus primeras líneas.' },
  'note.POP3_MALFORMED_COMMAND': { en: 'A command line that is not valid POP3.', es: 'Una línea de orden que no es POP3 válido.', ref: 'RFC 1939 §3' },
  'note.POP3_MALFORMED_RESPONSE': { en: 'A server line that is neither +OK nor -ERR.', es: 'Una línea del servidor que no es ni +OK ni -ERR.', ref: 'RFC 1939 §3' },
  'note.POP3_NO_RESPONSE': { en: 'The server closed without answering some commands.', es: 'El servidor cerró sin responder a algunas órdenes.' },
  'note.POP3_PIPELINING_NOT_OFFERED': { en: 'The client did not wait for responses although the server did not announce PIPELINING.', es: 'El cliente no esperó las respuestas aunque el servidor no anunció PIPELINING.', ref: 'RFC 2449 §6.6' },
  'note.POP3_TOO_MANY_PENDING': { en: 'Too many commands are waiting for responses; the oldest are no longer paired.', es: 'Demasiadas órdenes esperan respuesta; las más antiguas ya no se emparejan.' },
  'note.POP3_UNKNOWN_COMMAND': { en: 'A command POP3 does not define.', es: 'Una orden que POP3 no define.', ref: 'RFC 1939 §3' },
  'note.POP3_UNSOLICITED_RESPONSE': { en: 'A response that answers no command.', es: 'Una respuesta que no contesta a ninguna orden.', ref: 'RFC 1939 §3' },
  'note.POP3_UNTERMINATED_LINE': { en: 'The connection closed after a line without its CRLF.', es: 'La conexión se cerró tras una línea sin su CRLF.', ref: 'RFC 1939 §3' },
  'note.POP3_NO_GREETING': {
    en: 'The capture starts without the server\'s +OK greeting (a hand-written transcript or a capture started late); responses pair from the first command.',
    es: 'La captura empieza sin el saludo +OK del servidor (una transcripción escrita a mano o una captura que empezó tarde); las respuestas se emparejan desde la primera orden.',
    ref: 'RFC 1939 §4',
  },

  // --- SASL mechanisms --------------------------------------------------------
  'sasl.PLAIN': {
    en: 'PLAIN: user and password in one base64 message. Base64 is not encryption: only safe inside TLS.',
    es: 'PLAIN: usuario y contraseña en un solo mensaje base64. Base64 no es cifrado: solo es seguro dentro de TLS.',
    ref: 'RFC 4616',
  },
  'sasl.LOGIN': {
    en: 'LOGIN: the server asks "Username:" and "Password:" in base64 and the client answers each. Not encrypted.',
    es: 'LOGIN: el servidor pide "Username:" y "Password:" en base64 y el cliente responde a cada uno. No va cifrado.',
    ref: 'draft-murchison-sasl-login',
  },
  'sasl.CRAM-MD5': {
    en: 'CRAM-MD5: the client proves it knows the password with an HMAC-MD5 of a server challenge. Obsolete.',
    es: 'CRAM-MD5: el cliente demuestra que conoce la contraseña con un HMAC-MD5 de un desafío del servidor. Obsoleto.',
    ref: 'RFC 2195',
  },
  'sasl.DIGEST-MD5': { en: 'DIGEST-MD5: a challenge-response mechanism, now obsolete.', es: 'DIGEST-MD5: un mecanismo de desafío y respuesta, hoy obsoleto.', ref: 'RFC 6331' },
  'sasl.XOAUTH2': {
    en: 'XOAUTH2: an OAuth2 access token instead of a password (Google, Microsoft). Errors come back as base64 JSON.',
    es: 'XOAUTH2: un token de acceso OAuth2 en lugar de contraseña (Google, Microsoft). Los errores vuelven como JSON en base64.',
    ref: 'Google XOAUTH2',
  },
  'sasl.OAUTHBEARER': { en: 'OAUTHBEARER: the standard form of OAuth2 login.', es: 'OAUTHBEARER: la forma estándar del acceso con OAuth2.', ref: 'RFC 7628' },
  'sasl.SCRAM-SHA-1': { en: 'SCRAM-SHA-1: a salted challenge-response; the password never crosses the wire.', es: 'SCRAM-SHA-1: desafío y respuesta con sal; la contraseña nunca viaja por la red.', ref: 'RFC 5802' },
  'sasl.SCRAM-SHA-256': { en: 'SCRAM-SHA-256: SCRAM with SHA-256; the password never crosses the wire.', es: 'SCRAM-SHA-256: SCRAM con SHA-256; la contraseña nunca viaja por la red.', ref: 'RFC 7677' },
  'sasl.NTLM': { en: 'NTLM: Microsoft\'s challenge-response login (three messages).', es: 'NTLM: el acceso por desafío y respuesta de Microsoft (tres mensajes).', ref: 'MS-NLMP' },
  'sasl.GSSAPI': { en: 'GSSAPI: Kerberos login.', es: 'GSSAPI: acceso con Kerberos.', ref: 'RFC 4752' },
  'sasl.EXTERNAL': { en: 'EXTERNAL: the identity comes from outside SASL (the TLS client certificate).', es: 'EXTERNAL: la identidad viene de fuera de SASL (el certificado TLS del cliente).', ref: 'RFC 4422 App. A' },
  'sasl.ANONYMOUS': { en: 'ANONYMOUS: access without an account.', es: 'ANONYMOUS: acceso sin cuenta.', ref: 'RFC 4505' },
}
