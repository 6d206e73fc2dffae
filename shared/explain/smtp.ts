// Explanations for SMTP commands, reply codes, EHLO capabilities and MAIL/RCPT parameters,
// in English and Spanish. Keys: 'smtp.cmd.EHLO', 'smtp.code.250', 'smtp.cap.PIPELINING',
// 'smtp.param.SIZE'. Data only: the proxy and the dashboard both import it.
import type { ExplainTable } from './index.ts'

export const SMTP_EXPLAIN: ExplainTable = {
  // --- Commands -------------------------------------------------------------
  'smtp.cmd.HELO': {
    en: 'HELO: the client introduces itself by name. Plain SMTP, without extensions.',
    es: 'HELO: el cliente se presenta con su nombre. SMTP básico, sin extensiones.',
    ref: 'RFC 5321 §4.1.1.1',
  },
  'smtp.cmd.EHLO': {
    en: 'EHLO: the client introduces itself and asks which ESMTP extensions the server supports (the list comes in the reply).',
    es: 'EHLO: el cliente se presenta y pregunta qué extensiones ESMTP acepta el servidor (la lista viene en la respuesta).',
    ref: 'RFC 5321 §4.1.1.1',
  },
  'smtp.cmd.LHLO': {
    en: 'LHLO: the LMTP version of EHLO, used for local delivery (e.g. Postfix to Dovecot).',
    es: 'LHLO: la versión LMTP de EHLO, para la entrega local (por ejemplo de Postfix a Dovecot).',
    ref: 'RFC 2033 §4.1',
  },
  'smtp.cmd.MAIL': {
    en: 'MAIL FROM: starts a mail transaction and gives the sender (envelope address, where bounces go).',
    es: 'MAIL FROM: empieza una transacción de correo e indica el remitente (dirección del sobre, adonde van los rebotes).',
    ref: 'RFC 5321 §4.1.1.2',
  },
  'smtp.cmd.RCPT': {
    en: 'RCPT TO: adds one recipient to the transaction. Repeated once per recipient.',
    es: 'RCPT TO: añade un destinatario a la transacción. Se repite una vez por destinatario.',
    ref: 'RFC 5321 §4.1.1.3',
  },
  'smtp.cmd.DATA': {
    en: 'DATA: the client is about to send the message (headers and body), ended by a line with a single dot.',
    es: 'DATA: el cliente va a enviar el mensaje (cabeceras y cuerpo), que termina con una línea que solo tiene un punto.',
    ref: 'RFC 5321 §4.1.1.4',
  },
  'smtp.cmd.BDAT': {
    en: 'BDAT: sends the message in chunks of a stated size instead of DATA; LAST marks the final chunk.',
    es: 'BDAT: envía el mensaje en trozos de tamaño indicado en lugar de DATA; LAST marca el último trozo.',
    ref: 'RFC 3030 §2',
  },
  'smtp.cmd.RSET': {
    en: 'RSET: abandons the current transaction (sender, recipients and data) without closing the connection.',
    es: 'RSET: descarta la transacción en curso (remitente, destinatarios y datos) sin cerrar la conexión.',
    ref: 'RFC 5321 §4.1.1.5',
  },
  'smtp.cmd.VRFY': {
    en: 'VRFY: asks whether an address or user name exists. Most servers answer vaguely (252) to avoid leaking users.',
    es: 'VRFY: pregunta si existe una dirección o un usuario. Casi todos los servidores contestan de forma vaga (252) para no revelar usuarios.',
    ref: 'RFC 5321 §4.1.1.6',
  },
  'smtp.cmd.EXPN': {
    en: 'EXPN: asks the server to expand a mailing list. Usually disabled.',
    es: 'EXPN: pide al servidor que despliegue una lista de distribución. Normalmente está desactivado.',
    ref: 'RFC 5321 §4.1.1.7',
  },
  'smtp.cmd.HELP': {
    en: 'HELP: asks the server for help text.',
    es: 'HELP: pide al servidor un texto de ayuda.',
    ref: 'RFC 5321 §4.1.1.8',
  },
  'smtp.cmd.NOOP': {
    en: 'NOOP: does nothing; keeps the connection alive or checks that the server answers.',
    es: 'NOOP: no hace nada; mantiene viva la conexión o comprueba que el servidor responde.',
    ref: 'RFC 5321 §4.1.1.9',
  },
  'smtp.cmd.QUIT': {
    en: 'QUIT: ends the session; the server answers 221 and closes the connection.',
    es: 'QUIT: termina la sesión; el servidor responde 221 y cierra la conexión.',
    ref: 'RFC 5321 §4.1.1.10',
  },
  'smtp.cmd.STARTTLS': {
    en: 'STARTTLS: asks to switch this connection to TLS. After the 220 reply both sides negotiate TLS and the client must send EHLO again.',
    es: 'STARTTLS: pide cifrar esta conexión con TLS. Tras la respuesta 220 ambos lados negocian TLS y el cliente debe volver a enviar EHLO.',
    ref: 'RFC 3207 §4',
  },
  'smtp.cmd.AUTH': {
    en: 'AUTH: starts authentication with a SASL mechanism (PLAIN, LOGIN, CRAM-MD5, XOAUTH2...). The exchange continues with 334 challenges.',
    es: 'AUTH: inicia la autenticación con un mecanismo SASL (PLAIN, LOGIN, CRAM-MD5, XOAUTH2...). El intercambio sigue con desafíos 334.',
    ref: 'RFC 4954 §4',
  },
  'smtp.cmd.ETRN': {
    en: 'ETRN: asks the server to start delivering mail queued for a domain.',
    es: 'ETRN: pide al servidor que empiece a entregar el correo encolado para un dominio.',
    ref: 'RFC 1985',
  },
  'smtp.cmd.XCLIENT': {
    en: 'XCLIENT: a Postfix extension that lets a trusted proxy pass the real client address.',
    es: 'XCLIENT: extensión de Postfix con la que un proxy de confianza comunica la dirección real del cliente.',
    ref: 'Postfix XCLIENT_README',
  },
  'smtp.cmd.XFORWARD': {
    en: 'XFORWARD: a Postfix extension that forwards the original client attributes for logging.',
    es: 'XFORWARD: extensión de Postfix que reenvía los datos del cliente original para los registros.',
    ref: 'Postfix XFORWARD_README',
  },

  // --- Reply codes ----------------------------------------------------------
  'smtp.code.211': { en: 'System status or help reply.', es: 'Estado del sistema o respuesta de ayuda.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.214': { en: 'Help message.', es: 'Mensaje de ayuda.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.220': {
    en: 'Service ready: the greeting, or the go-ahead for STARTTLS.',
    es: 'Servicio preparado: el saludo inicial, o la luz verde para STARTTLS.',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.221': { en: 'The server is closing the connection (after QUIT).', es: 'El servidor cierra la conexión (tras QUIT).', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.235': { en: 'Authentication succeeded.', es: 'Autenticación correcta.', ref: 'RFC 4954 §6' },
  'smtp.code.250': { en: 'Requested action okay, completed.', es: 'Acción solicitada correcta y completada.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.251': { en: 'User not local; the server will forward the message.', es: 'Usuario no local; el servidor reenviará el mensaje.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.252': {
    en: 'Cannot verify the user, but the server will accept the message and try.',
    es: 'No se puede verificar el usuario, pero el servidor acepta el mensaje y lo intentará.',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.334': {
    en: 'AUTH challenge: the server waits for the next SASL step (base64 text).',
    es: 'Desafío de AUTH: el servidor espera el siguiente paso SASL (texto en base64).',
    ref: 'RFC 4954 §4',
  },
  'smtp.code.354': {
    en: 'Start mail input: send the message and end it with <CRLF>.<CRLF>.',
    es: 'Empiece a enviar el mensaje y termínelo con <CRLF>.<CRLF>.',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.421': {
    en: 'Service not available: the server is closing the connection (overload, timeout, shutdown).',
    es: 'Servicio no disponible: el servidor cierra la conexión (sobrecarga, tiempo agotado, apagado).',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.450': {
    en: 'Mailbox temporarily unavailable (busy, or greylisting): try again later.',
    es: 'Buzón no disponible temporalmente (ocupado o greylisting): vuelva a intentarlo más tarde.',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.451': { en: 'Local error in processing; temporary.', es: 'Error local al procesar; temporal.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.452': {
    en: 'Insufficient storage, or too many recipients; temporary.',
    es: 'Espacio insuficiente o demasiados destinatarios; temporal.',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.454': {
    en: 'Temporary authentication or TLS failure (e.g. TLS not available now).',
    es: 'Fallo temporal de autenticación o de TLS (por ejemplo, TLS no disponible ahora).',
    ref: 'RFC 3207 §4',
  },
  'smtp.code.455': { en: 'Server unable to accommodate parameters.', es: 'El servidor no puede atender los parámetros.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.500': { en: 'Syntax error, command unrecognised (or line too long).', es: 'Error de sintaxis, orden no reconocida (o línea demasiado larga).', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.501': { en: 'Syntax error in parameters or arguments.', es: 'Error de sintaxis en los parámetros o argumentos.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.502': { en: 'Command not implemented.', es: 'Orden no implementada.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.503': { en: 'Bad sequence of commands.', es: 'Secuencia de órdenes incorrecta.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.504': { en: 'Command parameter not implemented (e.g. unknown AUTH mechanism).', es: 'Parámetro no implementado (por ejemplo, mecanismo AUTH desconocido).', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.521': { en: 'This host does not accept mail.', es: 'Este servidor no acepta correo.', ref: 'RFC 7504' },
  'smtp.code.530': {
    en: 'Authentication (or STARTTLS) required before this command.',
    es: 'Hace falta autenticarse (o STARTTLS) antes de esta orden.',
    ref: 'RFC 4954 §6',
  },
  'smtp.code.534': { en: 'Authentication mechanism is too weak.', es: 'El mecanismo de autenticación es demasiado débil.', ref: 'RFC 4954 §6' },
  'smtp.code.535': {
    en: 'Authentication credentials invalid.',
    es: 'Credenciales de autenticación no válidas.',
    ref: 'RFC 4954 §6',
  },
  'smtp.code.538': { en: 'Encryption required for this authentication mechanism.', es: 'Este mecanismo de autenticación exige cifrado.', ref: 'RFC 4954 §6' },
  'smtp.code.550': {
    en: 'Mailbox unavailable (does not exist, or policy refuses it); permanent.',
    es: 'Buzón no disponible (no existe, o la política lo rechaza); permanente.',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.551': { en: 'User not local; the server will not forward.', es: 'Usuario no local; el servidor no reenvía.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.552': { en: 'Exceeded storage allocation (message too big or mailbox full).', es: 'Se superó el espacio asignado (mensaje demasiado grande o buzón lleno).', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.553': { en: 'Mailbox name not allowed (bad address syntax).', es: 'Nombre de buzón no permitido (sintaxis de dirección incorrecta).', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.554': {
    en: 'Transaction failed (or, as a greeting, no SMTP service here); permanent.',
    es: 'La transacción falló (o, como saludo, aquí no hay servicio SMTP); permanente.',
    ref: 'RFC 5321 §4.2.3',
  },
  'smtp.code.555': { en: 'MAIL FROM/RCPT TO parameters not recognised.', es: 'Parámetros de MAIL FROM/RCPT TO no reconocidos.', ref: 'RFC 5321 §4.2.3' },
  'smtp.code.556': { en: 'The domain does not accept mail.', es: 'El dominio no acepta correo.', ref: 'RFC 7504' },

  // --- EHLO capabilities ----------------------------------------------------
  'smtp.cap.SIZE': {
    en: 'SIZE: the largest message the server accepts, in bytes; the client may declare the size in MAIL FROM.',
    es: 'SIZE: el mayor mensaje que acepta el servidor, en bytes; el cliente puede declarar el tamaño en MAIL FROM.',
    ref: 'RFC 1870',
  },
  'smtp.cap.PIPELINING': {
    en: 'PIPELINING: the client may send several commands without waiting for each reply.',
    es: 'PIPELINING: el cliente puede enviar varias órdenes seguidas sin esperar cada respuesta.',
    ref: 'RFC 2920',
  },
  'smtp.cap.8BITMIME': {
    en: '8BITMIME: the server accepts 8-bit message content (BODY=8BITMIME).',
    es: '8BITMIME: el servidor acepta contenido de 8 bits (BODY=8BITMIME).',
    ref: 'RFC 6152',
  },
  'smtp.cap.STARTTLS': {
    en: 'STARTTLS: the connection can be switched to TLS. A client should do it before sending credentials.',
    es: 'STARTTLS: la conexión se puede cifrar con TLS. El cliente debería hacerlo antes de enviar credenciales.',
    ref: 'RFC 3207',
  },
  'smtp.cap.AUTH': {
    en: 'AUTH: the SASL mechanisms the server accepts for logging in.',
    es: 'AUTH: los mecanismos SASL que acepta el servidor para iniciar sesión.',
    ref: 'RFC 4954',
  },
  'smtp.cap.CHUNKING': {
    en: 'CHUNKING: the client may send the message with BDAT chunks instead of DATA.',
    es: 'CHUNKING: el cliente puede enviar el mensaje en trozos BDAT en lugar de DATA.',
    ref: 'RFC 3030',
  },
  'smtp.cap.BINARYMIME': { en: 'BINARYMIME: binary message content is accepted (with BDAT).', es: 'BINARYMIME: se acepta contenido binario (con BDAT).', ref: 'RFC 3030' },
  'smtp.cap.SMTPUTF8': {
    en: 'SMTPUTF8: addresses and headers may contain UTF-8 (internationalised email).',
    es: 'SMTPUTF8: las direcciones y cabeceras pueden llevar UTF-8 (correo internacionalizado).',
    ref: 'RFC 6531',
  },
  'smtp.cap.DSN': {
    en: 'DSN: delivery status notifications can be requested (NOTIFY, RET, ENVID, ORCPT).',
    es: 'DSN: se pueden pedir notificaciones del estado de entrega (NOTIFY, RET, ENVID, ORCPT).',
    ref: 'RFC 3461',
  },
  'smtp.cap.ENHANCEDSTATUSCODES': {
    en: 'ENHANCEDSTATUSCODES: replies carry detailed status codes such as 5.7.8.',
    es: 'ENHANCEDSTATUSCODES: las respuestas llevan códigos de estado detallados como 5.7.8.',
    ref: 'RFC 2034',
  },
  'smtp.cap.ETRN': { en: 'ETRN: remote queue start is available.', es: 'ETRN: se puede pedir el vaciado remoto de la cola.', ref: 'RFC 1985' },
  'smtp.cap.VRFY': { en: 'VRFY: address verification is enabled.', es: 'VRFY: la verificación de direcciones está activada.', ref: 'RFC 5321 §4.1.1.6' },
  'smtp.cap.HELP': { en: 'HELP is available.', es: 'HELP está disponible.', ref: 'RFC 5321 §4.1.1.8' },
  'smtp.cap.DELIVERBY': { en: 'DELIVERBY: a delivery deadline can be requested.', es: 'DELIVERBY: se puede pedir un plazo de entrega.', ref: 'RFC 2852' },
  'smtp.cap.REQUIRETLS': {
    en: 'REQUIRETLS: the message may demand TLS on every hop.',
    es: 'REQUIRETLS: el mensaje puede exigir TLS en cada salto.',
    ref: 'RFC 8689',
  },
  'smtp.cap.MT-PRIORITY': { en: 'MT-PRIORITY: messages may carry a transfer priority.', es: 'MT-PRIORITY: los mensajes pueden llevar una prioridad de transferencia.', ref: 'RFC 6710' },
  'smtp.cap.LIMITS': { en: 'LIMITS: the server announces its limits (recipients, transactions).', es: 'LIMITS: el servidor anuncia sus límites (destinatarios, transacciones).', ref: 'RFC 9422' },
  'smtp.cap.XCLIENT': { en: 'XCLIENT: trusted proxies may pass client attributes (Postfix).', es: 'XCLIENT: los proxies de confianza pueden pasar datos del cliente (Postfix).', ref: 'Postfix XCLIENT_README' },
  'smtp.cap.XFORWARD': { en: 'XFORWARD: original client attributes may be forwarded (Postfix).', es: 'XFORWARD: se pueden reenviar los datos del cliente original (Postfix).', ref: 'Postfix XFORWARD_README' },

  // --- MAIL/RCPT parameters ---------------------------------------------------
  'smtp.param.SIZE': { en: 'SIZE=n: the message size the client declares, in bytes.', es: 'SIZE=n: el tamaño del mensaje que declara el cliente, en bytes.', ref: 'RFC 1870 §6' },
  'smtp.param.BODY': { en: 'BODY=7BIT|8BITMIME|BINARYMIME: the kind of content that follows.', es: 'BODY=7BIT|8BITMIME|BINARYMIME: el tipo de contenido que viene después.', ref: 'RFC 6152 §2' },
  'smtp.param.SMTPUTF8': { en: 'SMTPUTF8: this message uses UTF-8 addresses or headers.', es: 'SMTPUTF8: este mensaje usa direcciones o cabeceras en UTF-8.', ref: 'RFC 6531 §3.4' },
  'smtp.param.RET': { en: 'RET=FULL|HDRS: what a bounce should return of the message.', es: 'RET=FULL|HDRS: qué parte del mensaje debe devolver un rebote.', ref: 'RFC 3461 §4.3' },
  'smtp.param.ENVID': { en: 'ENVID: an envelope id echoed in delivery notifications.', es: 'ENVID: un identificador del sobre que se repite en las notificaciones de entrega.', ref: 'RFC 3461 §4.4' },
  'smtp.param.NOTIFY': {
    en: 'NOTIFY=SUCCESS,FAILURE,DELAY|NEVER: which delivery notifications to send for this recipient.',
    es: 'NOTIFY=SUCCESS,FAILURE,DELAY|NEVER: qué notificaciones de entrega enviar para este destinatario.',
    ref: 'RFC 3461 §4.1',
  },
  'smtp.param.ORCPT': { en: 'ORCPT: the original recipient address, for notifications.', es: 'ORCPT: la dirección original del destinatario, para las notificaciones.', ref: 'RFC 3461 §4.2' },
  'smtp.param.AUTH': { en: 'AUTH=: the identity that submitted the message (between trusted servers).', es: 'AUTH=: la identidad que envió el mensaje (entre servidores de confianza).', ref: 'RFC 4954 §5' },
  'smtp.param.REQUIRETLS': { en: 'REQUIRETLS: the message must only travel over TLS.', es: 'REQUIRETLS: el mensaje solo puede viajar por TLS.', ref: 'RFC 8689' },
}
