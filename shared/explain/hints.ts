// The hints of findings in English and Spanish: 'hint.CODE' is the hint a note code usually
// carries, 'hint.CODE.VARIANT' the others when one code has several (IMAP_NO for a missing
// mailbox or for missing rights). `en` is the decoder's hint word for word, so a note finds
// its translation by its own hint text; test/explain/hints.test.ts checks every hint the
// proxy emits has one. Dynamic hints (AUTH_CLEARTEXT names STARTTLS or STLS) are written
// generically here: the specifics stay in the note's own text.
import type { ExplainEntry, ExplainTable, Lang } from './index.ts'

export const HINTS_EXPLAIN: ExplainTable = {
  // --- Shared by all protocols ----------------------------------------------
  'hint.REPLY_ERROR': {
    en: 'Transient: a well-behaved client retries later.',
    es: 'Es temporal: un cliente bien hecho vuelve a intentarlo más tarde.',
  },
  'hint.AUTH_CLEARTEXT': {
    en: 'Configure the client to use STARTTLS/STLS (or the implicit-TLS port) before authenticating.',
    es: 'Configura el cliente para que use STARTTLS/STLS (o el puerto con TLS implícito) antes de autenticarse.',
  },
  'hint.AUTH_INVALID_BASE64': {
    en: "The server will reject it; check the client's SASL encoding.",
    es: 'El servidor lo rechazará; revisa cómo codifica el cliente el intercambio SASL.',
  },
  'hint.OAUTH_ERROR': {
    en: 'The access token is expired, revoked or lacks the mail scope; refresh it.',
    es: 'El token de acceso ha caducado, se ha revocado o no tiene permiso de correo; renuévalo.',
  },
  'hint.OAUTH_ERROR.CONTINUE': {
    en: 'The client must answer with an empty response to get the final error.',
    es: 'El cliente debe contestar con una respuesta vacía para recibir el error definitivo.',
  },
  'hint.STARTTLS_INJECTION': {
    en: 'These bytes must be discarded: a client or a man in the middle tried to inject commands (CVE-2011-0411 class).',
    es: 'Estos bytes deben descartarse: un cliente o un intermediario malicioso intentó inyectar órdenes (del tipo CVE-2011-0411).',
  },
  'hint.STARTTLS_INJECTION.SMTP': {
    en: 'Those bytes are not commands: a man in the middle may have injected them (CVE-2011-0411). A correct peer discards them.',
    es: 'Esos bytes no son órdenes: puede que los haya inyectado un intermediario malicioso (CVE-2011-0411). Un extremo correcto los descarta.',
  },
  'hint.STARTTLS_INJECTION.POP3': {
    en: 'Those bytes are not commands: a man in the middle may have injected them. A correct peer discards them.',
    es: 'Esos bytes no son órdenes: puede que los haya inyectado un intermediario malicioso. Un extremo correcto los descarta.',
  },
  'hint.IMPORT_PLACEHOLDER_ENCODED': {
    en: 'The transcript did not give the real value.',
    es: 'La transcripción no incluía el valor real.',
  },

  // --- SMTP -------------------------------------------------------------------
  'hint.SMTP_AUTH_FAILED': {
    en: 'Wrong user name or password, or the provider requires an app password (Gmail, Outlook with 2FA).',
    es: 'Usuario o contraseña incorrectos, o el proveedor exige una contraseña de aplicación (Gmail, Outlook con verificación en dos pasos).',
  },
  'hint.SMTP_AUTH_TOO_WEAK': {
    en: 'The provider wants a stronger mechanism, OAuth2, or an app password.',
    es: 'El proveedor pide un mecanismo más seguro, OAuth2 o una contraseña de aplicación.',
  },
  'hint.SMTP_STARTTLS_REQUIRED': {
    en: 'Enable STARTTLS in the client (or use port 465 with implicit TLS) before AUTH or MAIL.',
    es: 'Activa STARTTLS en el cliente (o usa el puerto 465 con TLS implícito) antes de AUTH o MAIL.',
  },
  'hint.SMTP_AUTH_REQUIRED': {
    en: 'The client must AUTH before MAIL FROM on this server (submission).',
    es: 'En este servidor (de envío) el cliente tiene que autenticarse con AUTH antes de MAIL FROM.',
  },
  'hint.SMTP_RELAY_DENIED': {
    en: 'The client is not authenticated (or not in mynetworks): AUTH first, or send to a local domain.',
    es: 'El cliente no se ha autenticado (ni está en mynetworks): primero AUTH, o envía a un dominio local.',
  },
  'hint.SMTP_SYNC_ERROR': {
    en: 'The client sent commands before the greeting or pipelined without PIPELINING.',
    es: 'El cliente envió órdenes antes del saludo, o las encadenó sin que el servidor ofreciera PIPELINING.',
  },
  'hint.SMTP_MAILBOX_UNKNOWN': {
    en: 'Check the address for typos; the mailbox does not exist on this server.',
    es: 'Revisa si la dirección tiene erratas; ese buzón no existe en este servidor.',
  },
  'hint.SMTP_MESSAGE_TOO_BIG': {
    en: 'Compare with the SIZE the server announced in EHLO.',
    es: 'Compáralo con el tamaño máximo (SIZE) que anunció el servidor en la respuesta a EHLO.',
  },
  'hint.SMTP_BAD_SEQUENCE': {
    en: 'A command came out of order (RCPT before MAIL, DATA before RCPT, AUTH twice).',
    es: 'Una orden llegó fuera de orden (RCPT antes de MAIL, DATA antes de RCPT, AUTH dos veces).',
  },
  'hint.SMTP_UNKNOWN_COMMAND': {
    en: 'The server does not implement this command or extension.',
    es: 'El servidor no implementa esta orden o extensión.',
  },
  'hint.SMTP_UNKNOWN_COMMAND.CLIENT': {
    en: 'The server will probably answer 500 or 502.',
    es: 'Lo más probable es que el servidor responda 500 o 502.',
  },
  'hint.SMTP_TLS_UNAVAILABLE': {
    en: 'The server could not start TLS (certificate or key missing on its side).',
    es: 'El servidor no pudo iniciar TLS (le falta el certificado o la clave).',
  },
  'hint.SMTP_SERVICE_CLOSING': {
    en: 'The server is shutting the connection (timeout, overload or too many errors).',
    es: 'El servidor está cerrando la conexión (tiempo agotado, sobrecarga o demasiados errores).',
  },
  'hint.SMTP_EMPTY_LINE': {
    en: 'Servers answer 500 5.5.2 syntax error.',
    es: 'Los servidores responden 500 5.5.2, error de sintaxis.',
  },
  'hint.SMTP_MALFORMED_COMMAND': {
    en: 'Binary or wrong-protocol data on an SMTP port.',
    es: 'Llegaron datos binarios o de otro protocolo a un puerto SMTP.',
  },
  'hint.SMTP_MALFORMED_COMMAND.BDAT': {
    en: 'Without a size nobody knows where the chunk ends.',
    es: 'Sin el tamaño, nadie sabe dónde termina el trozo.',
  },
  'hint.SMTP_SYNTAX': {
    en: 'The server answers 501 5.5.4 syntax error.',
    es: 'El servidor responde 501 5.5.4, error de sintaxis.',
  },
  'hint.SMTP_SYNTAX.EHLO': {
    en: 'Postfix answers 501 Syntax: EHLO hostname.',
    es: 'Postfix responde 501 Syntax: EHLO hostname (falta el nombre del equipo).',
  },
  'hint.SMTP_PATH_WITHOUT_BRACKETS': {
    en: 'RFC 5321 requires <address>; lenient servers (Postfix by default) accept it.',
    es: 'El RFC 5321 exige <dirección>; los servidores tolerantes (Postfix, por defecto) lo aceptan igualmente.',
  },
  'hint.TLS_ON_PLAINTEXT_PORT': {
    en: 'set the client to STARTTLS (or none) for this port, or make the listener implicit TLS (smtps://, imaps://, pop3s://)',
    es: 'configura el cliente con STARTTLS (o sin cifrado) para este puerto, o haz que el punto de escucha use TLS implícito (smtps://, imaps://, pop3s://)',
  },
  'hint.TLS_ON_PLAINTEXT_PORT.SMTP': {
    en: 'The client expects implicit TLS (port 465): use an smtps:// listener, or set the client to STARTTLS or no encryption.',
    es: 'El cliente espera TLS implícito (puerto 465): usa un punto de escucha smtps://, o configura el cliente con STARTTLS o sin cifrado.',
  },
  'hint.TLS_ON_PLAINTEXT_PORT.POP3': {
    en: 'The client expects implicit TLS (port 995): use a pop3s:// listener, or set the client to STLS or no encryption.',
    es: 'El cliente espera TLS implícito (puerto 995): usa un punto de escucha pop3s://, o configura el cliente con STLS o sin cifrado.',
  },
  'hint.TLS_ON_PLAINTEXT_PORT.IMAP': {
    en: 'The client is set to implicit TLS (port 993) but this port speaks plain IMAP: use STARTTLS, or point the client at the TLS port.',
    es: 'El cliente está configurado con TLS implícito (puerto 993), pero este puerto habla IMAP sin cifrar: usa STARTTLS o apunta el cliente al puerto TLS.',
  },
  'hint.SMTP_LINE_TOO_LONG': {
    en: 'Strict servers reject or truncate such lines.',
    es: 'Los servidores estrictos rechazan o recortan líneas así.',
  },
  'hint.SMTP_LINE_TOO_LONG.OPAQUE': {
    en: 'Treated as opaque up to the next line end.',
    es: 'Se trata como datos opacos hasta el siguiente fin de línea.',
  },
  'hint.SMTP_LINE_TOO_LONG.BODY': {
    en: 'Servers may refuse the message or break the line; long lines need quoted-printable or base64.',
    es: 'El servidor puede rechazar el mensaje o partir la línea; las líneas largas deben codificarse en quoted-printable o base64.',
  },
  'hint.SMTP_PIPELINING_NOT_OFFERED': {
    en: 'Some servers drop the connection for this (protocol synchronization error).',
    es: 'Algunos servidores cortan la conexión por esto (error de sincronización del protocolo).',
  },
  'hint.SMTP_BARE_LF': {
    en: 'Lenient servers accept it; strict ones (Postfix with smtpd_forbid_bare_newline) refuse.',
    es: 'Los servidores tolerantes lo aceptan; los estrictos (Postfix con smtpd_forbid_bare_newline) lo rechazan.',
  },
  'hint.SMTP_MESSAGE_OVER_SIZE': {
    en: 'Expect 552 5.3.4: shrink the attachments or send a link.',
    es: 'Cabe esperar un 552 5.3.4: reduce los adjuntos o envía un enlace.',
  },
  'hint.SMTP_SIZE_UNDERSTATED': {
    en: 'Servers may refuse a message larger than declared.',
    es: 'El servidor puede rechazar un mensaje más grande de lo declarado.',
  },
  'hint.SMTP_BARE_LF_TERMINATOR': {
    en: 'Servers disagree on such terminators: this is the SMTP smuggling pattern.',
    es: 'Los servidores no se ponen de acuerdo con estos finales: es el patrón del «SMTP smuggling» (contrabando SMTP).',
  },
  'hint.SMTP_BODY_CUT': {
    en: 'The message was not delivered.',
    es: 'El mensaje no se entregó.',
  },
  'hint.SMTP_UNTERMINATED_LINE': {
    en: 'The server never saw a complete command.',
    es: 'El servidor nunca recibió una orden completa.',
  },
  'hint.SMTP_MALFORMED_REPLY': {
    en: 'The server may not speak SMTP on this port (or this is the wrong protocol).',
    es: 'Puede que el servidor no hable SMTP en este puerto (o que sea otro protocolo).',
  },
  'hint.SMTP_EARLY_TALKER': {
    en: 'Servers such as Postfix reject clients that talk first (554 5.5.1 protocol synchronization).',
    es: 'Servidores como Postfix rechazan a los clientes que hablan antes de tiempo (554 5.5.1, error de sincronización del protocolo).',
  },
  'hint.SMTP_NO_GREETING': {
    en: 'The transcript or capture left the greeting out; pairing starts with the first command.',
    es: 'La transcripción o la captura no incluye el saludo; el emparejamiento empieza con la primera orden.',
  },
  'hint.SMTP_UNSOLICITED_REPLY': {
    en: 'The server sent more replies than commands were sent, or the capture started mid-session.',
    es: 'El servidor envió más respuestas que órdenes recibió, o la captura empezó a mitad de sesión.',
  },
  'hint.SMTP_AUTH_UNANSWERED': {
    en: 'The capture or transcript leaves out the 334 prompts and the 235/535 verdict.',
    es: 'La captura o la transcripción omite los desafíos 334 y el veredicto 235/535.',
  },
  'hint.SMTP_REPLY_MISSING': {
    en: 'The capture or transcript leaves out some server replies.',
    es: 'La captura o la transcripción omite algunas respuestas del servidor.',
  },
  'hint.SMTP_TOO_MANY_PENDING': {
    en: 'The server reads commands but does not answer them.',
    es: 'El servidor lee las órdenes pero no las contesta.',
  },
  'hint.SMTP_OUT_OF_SEQUENCE': {
    en: 'Send EHLO first (again after STARTTLS).',
    es: 'Envía primero EHLO (y de nuevo después de STARTTLS).',
  },
  'hint.SMTP_OUT_OF_SEQUENCE.MAIL_TWICE': {
    en: 'Finish with DATA or RSET before a new MAIL.',
    es: 'Termina con DATA o RSET antes de un nuevo MAIL.',
  },
  'hint.SMTP_OUT_OF_SEQUENCE.RCPT': {
    en: 'The server answers 503 5.5.1: send MAIL FROM first.',
    es: 'El servidor responde 503 5.5.1: envía primero MAIL FROM.',
  },
  'hint.SMTP_OUT_OF_SEQUENCE.DATA': {
    en: 'A transaction is MAIL FROM, at least one RCPT TO, then DATA.',
    es: 'Una transacción es MAIL FROM, al menos un RCPT TO y después DATA.',
  },
  'hint.SMTP_OUT_OF_SEQUENCE.NO_RCPT': {
    en: 'Every RCPT TO was refused; the server answers 503 or 554.',
    es: 'Se rechazaron todos los RCPT TO; el servidor responde 503 o 554.',
  },
  'hint.SMTP_OUT_OF_SEQUENCE.AUTH': {
    en: 'AUTH is an ESMTP extension: send EHLO first.',
    es: 'AUTH es una extensión ESMTP: envía primero EHLO.',
  },
  'hint.SMTP_OUT_OF_SEQUENCE.STARTTLS': {
    en: 'Send EHLO, check STARTTLS is offered, then STARTTLS.',
    es: 'Envía EHLO, comprueba que se ofrece STARTTLS y después envía STARTTLS.',
  },

  // --- POP3 -------------------------------------------------------------------
  'hint.POP3_MAILBOX_IN_USE': {
    en: 'Another client (a phone, another PC) holds the mailbox lock; close it or wait for its session to end.',
    es: 'Otro cliente (un móvil, otro ordenador) tiene bloqueado el buzón; ciérralo o espera a que termine su sesión.',
  },
  'hint.POP3_LOGIN_DELAY': {
    en: 'The server enforces a minimum time between logins (see CAPA LOGIN-DELAY).',
    es: 'El servidor impone un tiempo mínimo entre inicios de sesión (mira LOGIN-DELAY en la respuesta a CAPA).',
  },
  'hint.POP3_AUTH_FAILED': {
    en: 'Wrong user name or password, or the provider wants an app password.',
    es: 'Usuario o contraseña incorrectos, o el proveedor pide una contraseña de aplicación.',
  },
  'hint.POP3_AUTH_FAILED.PASS': {
    en: 'Wrong user name or password, or the provider wants an app password. Servers often only say so after PASS.',
    es: 'Usuario o contraseña incorrectos, o el proveedor pide una contraseña de aplicación. Muchos servidores solo lo dicen después de PASS.',
  },
  'hint.POP3_SYS_TEMP': {
    en: 'A transient failure on the server side; retry later.',
    es: 'Un fallo pasajero en el servidor; vuelve a intentarlo más tarde.',
  },
  'hint.POP3_SYS_PERM': {
    en: 'The server cannot serve this mailbox; contact its administrator.',
    es: 'El servidor no puede dar servicio a este buzón; ponte en contacto con su administrador.',
  },
  'hint.POP3_TLS_UNAVAILABLE': {
    en: 'The server could not start TLS here (not configured, or already in TLS).',
    es: 'El servidor no pudo iniciar TLS aquí (no lo tiene configurado, o la conexión ya va por TLS).',
  },
  'hint.POP3_LINE_TOO_LONG': {
    en: 'Strict servers reject or truncate such lines.',
    es: 'Los servidores estrictos rechazan o recortan líneas así.',
  },
  'hint.POP3_LINE_TOO_LONG.OPAQUE': {
    en: 'Treated as opaque up to the next line end.',
    es: 'Se trata como datos opacos hasta el siguiente fin de línea.',
  },
  'hint.POP3_UNKNOWN_COMMAND': {
    en: 'The server will probably answer -ERR.',
    es: 'Lo más probable es que el servidor responda -ERR.',
  },
  'hint.POP3_MALFORMED_COMMAND': {
    en: 'Binary or wrong-protocol data on a POP3 port.',
    es: 'Llegaron datos binarios o de otro protocolo a un puerto POP3.',
  },
  'hint.POP3_BARE_LF': {
    en: 'Most servers accept it; strict ones do not.',
    es: 'La mayoría de los servidores lo aceptan; los estrictos, no.',
  },
  'hint.POP3_OUT_OF_SEQUENCE': {
    en: 'Log in first with USER/PASS, APOP or AUTH; the server answers -ERR.',
    es: 'Inicia sesión primero con USER/PASS, APOP o AUTH; el servidor responde -ERR.',
  },
  'hint.POP3_OUT_OF_SEQUENCE.PASS': {
    en: 'Send USER first.',
    es: 'Envía primero USER.',
  },
  'hint.POP3_OUT_OF_SEQUENCE.AUTHORIZATION': {
    en: 'Only valid in the AUTHORIZATION state; the server answers -ERR.',
    es: 'Solo es válida en el estado AUTHORIZATION (antes de iniciar sesión); el servidor responde -ERR.',
  },
  'hint.POP3_APOP_NO_TIMESTAMP': {
    en: 'The server cannot check the digest; it will refuse.',
    es: 'El servidor no puede comprobar el resumen (digest); lo rechazará.',
  },
  'hint.POP3_SIZE_MISMATCH': {
    en: 'Harmless for most clients; some use the count to show progress or to check the download.',
    es: 'No afecta a la mayoría de los clientes; algunos usan esa cifra para mostrar el progreso o comprobar la descarga.',
  },
  'hint.POP3_MESSAGE_LINE_TOO_LONG': {
    en: 'POP3 carries it, but the message breaks the 998-character line limit: some clients cut or wrap it; long lines need quoted-printable or base64.',
    es: 'POP3 la transporta, pero el mensaje incumple el límite de 998 caracteres por línea: algunos clientes la cortan o la parten; las líneas largas necesitan quoted-printable o base64.',
  },
  'hint.POP3_MALFORMED_RESPONSE': {
    en: 'The server may not speak POP3 on this port, or a multi-line response was not expected.',
    es: 'Puede que el servidor no hable POP3 en este puerto, o que no se esperara una respuesta de varias líneas.',
  },
  'hint.POP3_NO_GREETING': {
    en: 'The transcript or capture left the greeting out; pairing starts with the first command.',
    es: 'La transcripción o la captura no incluye el saludo; el emparejamiento empieza con la primera orden.',
  },
  'hint.POP3_UNSOLICITED_RESPONSE': {
    en: 'The server sent more responses than commands, or the capture started mid-session.',
    es: 'El servidor envió más respuestas que órdenes hubo, o la captura empezó a mitad de sesión.',
  },
  'hint.POP3_TOO_MANY_PENDING': {
    en: 'The server reads commands but does not answer them.',
    es: 'El servidor lee las órdenes pero no las contesta.',
  },

  // --- IMAP -------------------------------------------------------------------
  'hint.IMAP_AUTH_FAILED': {
    en: 'Wrong user name or password, or the provider wants an app password or OAuth2.',
    es: 'Usuario o contraseña incorrectos, o el proveedor pide una contraseña de aplicación u OAuth2.',
  },
  'hint.IMAP_AUTH_FAILED.AUTHENTICATIONFAILED': {
    en: 'Wrong user name or password. Providers with two-step verification (Gmail, Outlook, iCloud, Yahoo) want an app password or OAuth2, not the account password.',
    es: 'Usuario o contraseña incorrectos. Los proveedores con verificación en dos pasos (Gmail, Outlook, iCloud, Yahoo) piden una contraseña de aplicación u OAuth2, no la contraseña de la cuenta.',
  },
  'hint.IMAP_AUTH_FAILED.AUTHORIZATIONFAILED': {
    en: 'The credentials are valid but this identity may not act as the requested user (authzid).',
    es: 'Las credenciales son válidas, pero esta identidad no puede actuar en nombre del usuario solicitado (authzid).',
  },
  'hint.IMAP_AUTH_FAILED.EXPIRED': {
    en: 'The password or account has expired: renew it with the provider.',
    es: 'La contraseña o la cuenta ha caducado: renuévala con el proveedor.',
  },
  'hint.IMAP_PRIVACY_REQUIRED': {
    en: 'The server wants TLS first: use STARTTLS or the implicit-TLS port 993.',
    es: 'El servidor exige TLS primero: usa STARTTLS o el puerto 993 con TLS implícito.',
  },
  'hint.IMAP_UNAVAILABLE': {
    en: 'A temporary failure on the server side (a backend down, maintenance): retry later.',
    es: 'Un fallo temporal en el servidor (un servicio interno caído, mantenimiento): vuelve a intentarlo más tarde.',
  },
  'hint.IMAP_UNAVAILABLE.INUSE': {
    en: 'Another session holds the mailbox or resource: retry later.',
    es: 'Otra sesión tiene ocupado el buzón o el recurso: vuelve a intentarlo más tarde.',
  },
  'hint.IMAP_OVERQUOTA': {
    en: 'The mailbox is over its quota: delete or archive mail, or raise the quota.',
    es: 'El buzón ha superado su cuota: borra o archiva correo, o amplía la cuota.',
  },
  'hint.IMAP_TRYCREATE': {
    en: 'The target mailbox does not exist: the client should CREATE it and retry.',
    es: 'El buzón de destino no existe: el cliente debería crearlo con CREATE y volver a intentarlo.',
  },
  'hint.IMAP_NO': {
    en: 'The mailbox does not exist (check its name and hierarchy delimiter).',
    es: 'El buzón no existe (revisa su nombre y el separador de jerarquía).',
  },
  'hint.IMAP_NO.NOPERM': {
    en: 'The user lacks the rights (ACL) for this operation on this mailbox.',
    es: 'El usuario no tiene permisos (ACL) para esta operación en este buzón.',
  },
  'hint.IMAP_NO.CANNOT': {
    en: 'The server cannot do this, or a server limit was hit.',
    es: 'El servidor no puede hacer esto, o se ha alcanzado un límite del servidor.',
  },
  'hint.IMAP_BAD': {
    en: 'The server did not understand the command: a client bug, an unsupported extension or a command in the wrong state.',
    es: 'El servidor no entendió la orden: un fallo del cliente, una extensión no admitida o una orden en el estado equivocado.',
  },
  'hint.IMAP_OUT_OF_SEQUENCE': {
    en: 'Select a mailbox first (SELECT or EXAMINE).',
    es: 'Selecciona primero un buzón (SELECT o EXAMINE).',
  },
  'hint.IMAP_OUT_OF_SEQUENCE.AUTHENTICATED': {
    en: 'Log in first (LOGIN or AUTHENTICATE).',
    es: 'Inicia sesión primero (LOGIN o AUTHENTICATE).',
  },
  'hint.IMAP_OUT_OF_SEQUENCE.NOT_AUTHENTICATED': {
    en: 'This command is only valid before authentication.',
    es: 'Esta orden solo es válida antes de autenticarse.',
  },
  'hint.IMAP_LOGIN_DISABLED': {
    en: 'The server refuses LOGIN on this connection: use STARTTLS or the implicit-TLS port 993 first.',
    es: 'El servidor no admite LOGIN en esta conexión: usa antes STARTTLS o el puerto 993 con TLS implícito.',
  },
  'hint.IMAP_LITERAL_MISMATCH': {
    en: 'The sender counted the literal wrong (characters instead of bytes, CRLF vs LF): the rest of the stream may be misread.',
    es: 'El emisor contó mal el literal (caracteres en lugar de bytes, CRLF frente a LF): el resto del flujo puede interpretarse mal.',
  },
  'hint.IMAP_LITERAL_PLUS_UNADVERTISED': {
    en: 'The server may reject the command; the client must wait for "+" instead.',
    es: 'El servidor puede rechazar la orden; el cliente debe esperar al «+» antes de enviar el literal.',
  },
  'hint.IMAP_LINE_TOO_LONG': {
    en: 'Servers reject or truncate such lines; split the command (e.g. smaller UID sets).',
    es: 'Los servidores rechazan o recortan líneas así; divide la orden (por ejemplo, en conjuntos de UID más pequeños).',
  },
  'hint.IMAP_NO_GREETING': {
    en: 'Wrong port or protocol (an SMTP or TLS port?), or the server is overloaded.',
    es: 'Puerto o protocolo equivocado (¿un puerto SMTP o con TLS?), o el servidor está sobrecargado.',
  },
  'hint.IMAP_DUPLICATE_TAG': {
    en: 'Completions with that tag are paired in the order the commands were sent; a server may answer otherwise.',
    es: 'Las respuestas finales con esa etiqueta se emparejan en el orden en que se enviaron las órdenes; un servidor podría contestar en otro orden.',
  },
  'hint.IMAP_ALERT': {
    en: 'RFC 9051 requires clients to show this text to the user.',
    es: 'El RFC 9051 obliga a los clientes a mostrar este texto al usuario.',
  },
  'hint.IMAP_BYE': {
    en: 'Not an answer to LOGOUT: an idle timeout, a shutdown or too many connections.',
    es: 'No responde a un LOGOUT: inactividad, un apagado del servidor o demasiadas conexiones.',
  },

  // --- Relay, TLS, store, replay ---------------------------------------------
  'hint.UPSTREAM_NO_GREETING': {
    en: 'for ports 465, 993, 995 use smtps://, imaps:// or pop3s:// as the upstream URL',
    es: 'para los puertos 465, 993 y 995 usa smtps://, imaps:// o pop3s:// como URL del servidor de destino',
  },
  'hint.UPSTREAM_UNREACHABLE': {
    en: "Check the route's upstream host and port, and that the server is running and reachable from here.",
    es: 'Comprueba el equipo y el puerto del servidor de destino de la ruta, y que el servidor esté en marcha y se pueda llegar a él desde aquí.',
  },
  'hint.UPSTREAM_SPEAKS_TLS': {
    en: 'use smtps://, imaps:// or pop3s:// for this upstream (ports 465, 993, 995 speak TLS from the first byte)',
    es: 'usa smtps://, imaps:// o pop3s:// para este servidor de destino (los puertos 465, 993 y 995 hablan TLS desde el primer byte)',
  },
  'hint.UPSTREAM_SPEAKS_PLAINTEXT': {
    en: 'use smtp://, imap:// or pop3:// for this upstream; mailtap follows STARTTLS when the client asks for it',
    es: 'usa smtp://, imap:// o pop3:// para este servidor de destino; mailtap sigue a STARTTLS cuando el cliente lo pide',
  },
  'hint.PLAINTEXT_ON_TLS_PORT': {
    en: 'set the client to SSL/TLS for this port, or make the listener plaintext (smtp://, imap://, pop3://) and use STARTTLS',
    es: 'configura el cliente con SSL/TLS para este puerto, o haz que el punto de escucha sea sin cifrar (smtp://, imap://, pop3://) y usa STARTTLS',
  },
  'hint.TLS_CLIENT_REJECTED_CERT': {
    en: "install mailtap's CA in the client (print it with: mailtap ca), or turn off certificate checks in a test client",
    es: 'instala la CA de mailtap en el cliente (se obtiene con: mailtap ca), o desactiva la comprobación de certificados en un cliente de pruebas',
  },
  'hint.TLS_HANDSHAKE_ABORTED': {
    en: "install mailtap's CA in the client (print it with: mailtap ca)",
    es: 'instala la CA de mailtap en el cliente (se obtiene con: mailtap ca)',
  },
  'hint.TLS_HANDSHAKE_ABORTED.TEST_CLIENT': {
    en: "install mailtap's CA in the client (print it with: mailtap ca), or turn off certificate checks in a test client",
    es: 'instala la CA de mailtap en el cliente (se obtiene con: mailtap ca), o desactiva la comprobación de certificados en un cliente de pruebas',
  },
  'hint.TLS_CLIENT_SENT_PLAINTEXT': {
    en: 'point the client at the plaintext/STARTTLS port, or set its security to SSL/TLS (implicit TLS) for this port',
    es: 'apunta el cliente al puerto sin cifrar o con STARTTLS, o configura su seguridad como SSL/TLS (TLS implícito) para este puerto',
  },
  'hint.TLS_CLIENT_NO_HELLO': {
    en: 'set the client to SSL/TLS for this port, or route it to a plaintext/STARTTLS listener',
    es: 'configura el cliente con SSL/TLS para este puerto, o dirígelo a un punto de escucha sin cifrar o con STARTTLS',
  },
  'hint.TLS_NO_COMMON_PARAMETERS': {
    en: 'update the client or enable TLS 1.2 in its settings',
    es: 'actualiza el cliente o activa TLS 1.2 en su configuración',
  },
  'hint.TLS_UPSTREAM_SENT_PLAINTEXT': {
    en: 'implicit TLS is usually smtps 465, imaps 993, pop3s 995; on 25/587/143/110 use the plain URL (smtp://, imap://, pop3://) and STARTTLS',
    es: 'el TLS implícito suele ir en smtps 465, imaps 993 y pop3s 995; en 25/587/143/110 usa la URL sin cifrar (smtp://, imap://, pop3://) y STARTTLS',
  },
  'hint.TLS_UPSTREAM_CERT_REFUSED': {
    en: 'fix the server certificate, name the route by a host the certificate covers, or run with --upstream-verify warn',
    es: 'corrige el certificado del servidor, usa en la ruta un nombre de equipo que cubra el certificado, o ejecuta con --upstream-verify warn',
  },
  'hint.TLS_CERT_HOSTNAME_MISMATCH': {
    en: 'name the upstream by a host the certificate covers; mailtap continued because --upstream-verify is warn',
    es: 'usa para el servidor de destino un nombre que cubra el certificado; mailtap siguió adelante porque --upstream-verify está en warn',
  },
  ...certHints([
    'TLS_CERT_EXPIRED',
    'TLS_CERT_NOT_YET_VALID',
    'TLS_CERT_SELF_SIGNED',
    'TLS_CERT_UNKNOWN_CA',
    'TLS_CERT_MISSING',
    'TLS_CERT_INVALID',
  ]),
  'hint.RECORDING_GAP': {
    en: 'Forwarding goes on; what crossed the proxy meanwhile is missing from the recording.',
    es: 'El reenvío continúa; lo que pasó por el proxy mientras tanto falta en la grabación.',
  },
  'hint.RECORDING_GAP.ENOSPC': {
    en: 'The disk holding the data directory is full. Forwarding goes on; free some space.',
    es: 'El disco del directorio de datos está lleno. El reenvío continúa; libera algo de espacio.',
  },
  'hint.REPLAY_AUTH_NOT_RECOMPUTABLE': {
    en: 'record the session with PLAIN, LOGIN or CRAM-MD5, or replay without --user/--password',
    es: 'graba la sesión con PLAIN, LOGIN o CRAM-MD5, o reprodúcela sin --user/--password',
  },
}

/** The same hint for every certificate problem but a name mismatch. */
function certHints(codes: string[]): ExplainTable {
  const entry: ExplainEntry = {
    en: 'a client talking to this server directly would refuse it; mailtap continued because --upstream-verify is warn',
    es: 'un cliente que hablara directamente con este servidor lo rechazaría; mailtap siguió adelante porque --upstream-verify está en warn',
  }
  return Object.fromEntries(codes.map((c) => [`hint.${c}`, entry]))
}

const normalise = (s: string): string => s.trim().replace(/\s+/g, ' ')

/** English hint text → its entry, over every variant of every code. */
const BY_TEXT = new Map<string, ExplainEntry>()
/** Code → its entries ('hint.CODE' and 'hint.CODE.VARIANT'). */
const BY_CODE = new Map<string, ExplainEntry[]>()
for (const [key, entry] of Object.entries(HINTS_EXPLAIN)) {
  BY_TEXT.set(normalise(entry.en), entry)
  const code = key.split('.')[1]!
  BY_CODE.set(code, [...(BY_CODE.get(code) ?? []), entry])
}

/** The table entry for a note's hint: the one with its English text, else the code's only entry. */
export function hintEntry(note: { code: string; hint?: string }): ExplainEntry | undefined {
  if (!note.hint) return undefined
  const exact = BY_TEXT.get(normalise(note.hint))
  if (exact) return exact
  // A dynamic or reworded hint: safe to translate by code only when the code has one hint.
  const byCode = BY_CODE.get(note.code)
  return byCode?.length === 1 ? byCode[0] : undefined
}

/**
 * A note's hint in a language. English is the note's own hint (it may name specifics);
 * Spanish comes from the table, falling back to the English hint when there is no entry.
 */
export function explainHint(note: { code: string; hint?: string }, lang: Lang): string | undefined {
  if (!note.hint || lang === 'en') return note.hint
  return hintEntry(note)?.[lang] ?? note.hint
}
