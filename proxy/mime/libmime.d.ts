// libmime ships no types; mailtap uses one function of it.
declare module 'libmime' {
  const libmime: { decodeWords(value: string): string }
  export default libmime
}
