// Explanations for POP3 commands, states, status indicators, response codes and CAPA
// capabilities, in English and Spanish. Keys: 'pop3.cmd.LIST', 'pop3.state.transaction',
// 'pop3.code.-ERR', 'pop3.resp.IN-USE', 'pop3.cap.PIPELINING'.
import type { ExplainTable } from './index.ts'

export const POP3_EXPLAIN: ExplainTable = {
  // --- Commands -------------------------------------------------------------
  'pop3.cmd.USER': {
    en: 'USER: gives the mailbox (user) name; PASS follows with the password.',
    es: 'USER: indica el nombre de usuario (buzón); después va PASS con la contraseña.',
    ref: 'RFC 1939 §7',
  },
  'pop3.cmd.PASS': {
    en: 'PASS: sends the password in clear text. Only safe inside TLS (STLS or port 995).',
    es: 'PASS: envía la contraseña en claro. Solo es seguro dentro de TLS (STLS o puerto 995).',
    ref: 'RFC 1939 §7',
  },
  'pop3.cmd.APOP': {
    en: 'APOP: logs in with the user name and an MD5 digest of the greeting timestamp plus the password (obsolete, MD5 is weak).',
    es: 'APOP: inicia sesión con el usuario y un resumen MD5 de la marca de tiempo del saludo más la contraseña (obsoleto: MD5 es débil).',
    ref: 'RFC 1939 §7',
  },
  'pop3.cmd.AUTH': {
    en: 'AUTH: logs in with a SASL mechanism (PLAIN, LOGIN, XOAUTH2...); without arguments it lists the mechanisms.',
    es: 'AUTH: inicia sesión con un mecanismo SASL (PLAIN, LOGIN, XOAUTH2...); sin argumentos lista los mecanismos.',
    ref: 'RFC 5034 §4',
  },
  'pop3.cmd.STAT': {
    en: 'STAT: number of messages and total size of the mailbox.',
    es: 'STAT: número de mensajes y tamaño total del buzón.',
    ref: 'RFC 1939 §5',
  },
  'pop3.cmd.LIST': {
    en: 'LIST [n]: number and size of message n; without a number, of every message (multi-line answer).',
    es: 'LIST [n]: número del mensaje y su tamaño; si no se da número de mensaje, lista todos (respuesta de varias líneas).',
    ref: 'RFC 1939 §5',
  },
  'pop3.cmd.UIDL': {
    en: 'UIDL [n]: the unique, stable id of message n (or of all). Clients use it to remember what they already downloaded.',
    es: 'UIDL [n]: el identificador único y estable del mensaje n (o de todos). Los clientes lo usan para recordar qué ya descargaron.',
    ref: 'RFC 1939 §7',
  },
  'pop3.cmd.RETR': {
    en: 'RETR n: downloads message n, whole.',
    es: 'RETR n: descarga el mensaje n completo.',
    ref: 'RFC 1939 §5',
  },
  'pop3.cmd.TOP': {
    en: 'TOP n k: the headers of message n and the first k lines of its body.',
    es: 'TOP n k: muestra las cabeceras del mensaje n y las primeras k líneas de su cuerpo.',
    ref: 'RFC 1939 §7',
  },
  'pop3.cmd.DELE': {
    en: 'DELE n: marks message n as deleted; it is removed at QUIT (RSET undoes it).',
    es: 'DELE n: marca el mensaje n como borrado; se elimina al hacer QUIT (RSET lo deshace).',
    ref: 'RFC 1939 §5',
  },
  'pop3.cmd.NOOP': { en: 'NOOP: does nothing; keeps the connection alive.', es: 'NOOP: no hace nada; mantiene viva la conexión.', ref: 'RFC 1939 §5' },
  'pop3.cmd.RSET': {
    en: 'RSET: undoes the deletions marked in this session.',
    es: 'RSET: deshace los cambios hechos en la sesión, incluido el borrado de mensajes.',
    ref: 'RFC 1939 §5',
  },
  'pop3.cmd.QUIT': {
    en: 'QUIT: ends the session; in the transaction state the server then deletes the marked messages (UPDATE state).',
    es: 'QUIT: finaliza la sesión; en el estado de transacción el servidor borra entonces los mensajes marcados (estado UPDATE).',
    ref: 'RFC 1939 §6',
  },
  'pop3.cmd.CAPA': {
    en: 'CAPA: asks which extensions the server supports (multi-line answer).',
    es: 'CAPA: pregunta qué extensiones admite el servidor (respuesta de varias líneas).',
    ref: 'RFC 2449 §5',
  },
  'pop3.cmd.STLS': {
    en: 'STLS: switches the connection to TLS. After +OK both sides negotiate TLS.',
    es: 'STLS: cifra la conexión con TLS. Tras el +OK ambos lados negocian TLS.',
    ref: 'RFC 2595 §4',
  },
  'pop3.cmd.UTF8': { en: 'UTF8: turns on UTF-8 for user names, passwords and messages.', es: 'UTF8: activa UTF-8 para usuarios, contraseñas y mensajes.', ref: 'RFC 6856 §2' },
  'pop3.cmd.LANG': { en: 'LANG: chooses the language of the server\'s messages.', es: 'LANG: elige el idioma de los mensajes del servidor.', ref: 'RFC 6856 §3' },

  // --- States ---------------------------------------------------------------
  'pop3.state.authorization': {
    en: 'AUTHORIZATION state: the client must identify itself (USER/PASS, APOP or AUTH).',
    es: 'Estado AUTHORIZATION: el cliente tiene que identificarse (USER/PASS, APOP o AUTH).',
    ref: 'RFC 1939 §4',
  },
  'pop3.state.transaction': {
    en: 'TRANSACTION state: logged in; the mailbox is locked and messages can be listed, read and deleted.',
    es: 'Estado TRANSACTION: sesión iniciada; el buzón está bloqueado y se pueden listar, leer y borrar mensajes.',
    ref: 'RFC 1939 §5',
  },
  'pop3.state.update': {
    en: 'UPDATE state: after QUIT, the server deletes the marked messages and releases the lock.',
    es: 'Estado UPDATE: tras QUIT, el servidor borra los mensajes marcados y libera el bloqueo.',
    ref: 'RFC 1939 §6',
  },

  // --- Status and response codes --------------------------------------------
  'pop3.code.+OK': { en: '+OK: the command succeeded.', es: '+OK: la orden se ejecutó correctamente.', ref: 'RFC 1939 §3' },
  'pop3.cont.sasl': { en: '+ : an AUTH challenge; the server waits for the next SASL step (base64), or * to cancel.', es: '+ : un desafío de AUTH; el servidor espera el siguiente paso SASL (base64), o * para cancelar.', ref: 'RFC 5034 §4' },
  'pop3.code.-ERR': { en: '-ERR: the command failed.', es: '-ERR: la orden falló.', ref: 'RFC 1939 §3' },
  'pop3.resp.IN-USE': {
    en: '[IN-USE]: the mailbox is locked by another POP3 session (another device is checking mail).',
    es: '[IN-USE]: el buzón está bloqueado por otra sesión POP3 (otro dispositivo está consultando el correo).',
    ref: 'RFC 2449 §8.1.1',
  },
  'pop3.resp.LOGIN-DELAY': {
    en: '[LOGIN-DELAY]: the client logged in sooner than the server allows.',
    es: '[LOGIN-DELAY]: el cliente ha entrado antes de lo que permite el servidor.',
    ref: 'RFC 2449 §8.1.2',
  },
  'pop3.resp.SYS/TEMP': { en: '[SYS/TEMP]: a temporary problem on the server; try later.', es: '[SYS/TEMP]: un problema temporal del servidor; inténtelo más tarde.', ref: 'RFC 3206 §4' },
  'pop3.resp.SYS/PERM': { en: '[SYS/PERM]: a permanent problem on the server.', es: '[SYS/PERM]: un problema permanente del servidor.', ref: 'RFC 3206 §4' },
  'pop3.resp.AUTH': {
    en: '[AUTH]: the credentials are wrong (not a server problem).',
    es: '[AUTH]: las credenciales son incorrectas (no es un problema del servidor).',
    ref: 'RFC 3206 §5',
  },
  'pop3.resp.UTF8': { en: '[UTF8]: the operation needs UTF8 mode.', es: '[UTF8]: la operación necesita el modo UTF8.', ref: 'RFC 6856 §2' },
  'pop3.apop-timestamp': {
    en: 'The greeting carries a <timestamp> for APOP: the server supports APOP logins.',
    es: 'El saludo lleva una <marca de tiempo> para APOP: el servidor admite el acceso con APOP.',
    ref: 'RFC 1939 §7',
  },

  // --- CAPA capabilities ----------------------------------------------------
  'pop3.cap.CAPA': { en: 'CAPA: the server lists CAPA itself (Dovecot does).', es: 'CAPA: el servidor incluye la propia orden CAPA en la lista (Dovecot lo hace).', ref: 'RFC 2449 §5' },
  'pop3.cap.TOP': { en: 'TOP: the TOP command is available.', es: 'TOP: la orden TOP está disponible.', ref: 'RFC 2449 §6.1' },
  'pop3.cap.USER': { en: 'USER: USER/PASS login is allowed.', es: 'USER: se permite el acceso con USER/PASS.', ref: 'RFC 2449 §6.2' },
  'pop3.cap.SASL': { en: 'SASL: the AUTH mechanisms the server accepts.', es: 'SASL: los mecanismos AUTH que acepta el servidor.', ref: 'RFC 2449 §6.3' },
  'pop3.cap.RESP-CODES': { en: 'RESP-CODES: errors carry codes such as [IN-USE].', es: 'RESP-CODES: los errores llevan códigos como [IN-USE].', ref: 'RFC 2449 §6.4' },
  'pop3.cap.LOGIN-DELAY': { en: 'LOGIN-DELAY: the minimum seconds between logins.', es: 'LOGIN-DELAY: los segundos mínimos entre dos accesos.', ref: 'RFC 2449 §6.5' },
  'pop3.cap.PIPELINING': { en: 'PIPELINING: commands may be sent without waiting for each answer.', es: 'PIPELINING: se pueden enviar órdenes sin esperar cada respuesta.', ref: 'RFC 2449 §6.6' },
  'pop3.cap.EXPIRE': { en: 'EXPIRE: how many days the server keeps retrieved messages.', es: 'EXPIRE: cuántos días guarda el servidor los mensajes ya descargados.', ref: 'RFC 2449 §6.7' },
  'pop3.cap.UIDL': { en: 'UIDL: unique message ids are available.', es: 'UIDL: hay identificadores únicos de mensaje.', ref: 'RFC 2449 §6.8' },
  'pop3.cap.IMPLEMENTATION': { en: 'IMPLEMENTATION: the server software.', es: 'IMPLEMENTATION: el software del servidor.', ref: 'RFC 2449 §6.9' },
  'pop3.cap.STLS': { en: 'STLS: the connection can be switched to TLS.', es: 'STLS: la conexión se puede cifrar con TLS.', ref: 'RFC 2595 §4' },
  'pop3.cap.UTF8': { en: 'UTF8: UTF-8 mode is available.', es: 'UTF8: el modo UTF-8 está disponible.', ref: 'RFC 6856 §2' },
  'pop3.cap.LANG': { en: 'LANG: the server speaks several languages.', es: 'LANG: el servidor habla varios idiomas.', ref: 'RFC 6856 §3' },
  'pop3.cap.AUTH-RESP-CODE': { en: 'AUTH-RESP-CODE: login failures say [AUTH] or [SYS/...].', es: 'AUTH-RESP-CODE: los fallos de acceso indican [AUTH] o [SYS/...].', ref: 'RFC 3206 §6' },
}
