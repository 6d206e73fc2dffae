import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MAX_SEGMENT_BYTES, writePcapng, type PcapSegment } from '../../proxy/export/pcapng.ts'
import { tsharkFields, tsharkSkip } from './tshark.ts'

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5)

function imapSegments(bodyBytes: number): PcapSegment[] {
  return [
    { side: 'server', bytes: Buffer.from('* OK IMAP ready\r\n'), at: T0 + 1 },
    { side: 'client', bytes: Buffer.from('a1 LOGIN alice secret\r\n'), at: T0 + 2 },
    { side: 'server', bytes: Buffer.from('a1 OK LOGIN done\r\n'), at: T0 + 3 },
    { side: 'client', bytes: Buffer.from('a2 FETCH 1 BODY[]\r\n'), at: T0 + 4 },
    {
      side: 'server',
      bytes: Buffer.concat([Buffer.from(`* 1 FETCH (BODY[] {${bodyBytes}}\r\n`), Buffer.alloc(bodyBytes, 'x'), Buffer.from(')\r\na2 OK FETCH done\r\n')]),
      at: T0 + 5,
    },
    { side: 'client', bytes: Buffer.from('a3 LOGOUT\r\n'), at: T0 + 6 },
  ]
}

// tshark takes a second to start: the runs go in parallel.
describe('the pcapng writer', { concurrency: true }, () => {
  test('a synthesized capture starts with a section header block that readers recognise', () => {
    const file = writePcapng([{ segments: imapSegments(10), startedAt: T0 }], {
      protocol: 'imap',
      client: { address: '127.0.0.1', port: 50123 },
      server: { address: '127.0.0.1', port: 143 },
    })
    assert.equal(file.readUInt32LE(0), 0x0a0d0d0a)
    assert.equal(file.readUInt32LE(8), 0x1a2b3c4d)
    // Every block's trailing length equals its leading length, all the way through.
    let off = 0
    let blocks = 0
    while (off < file.length) {
      const len = file.readUInt32LE(off + 4)
      assert.equal(len % 4, 0)
      assert.equal(file.readUInt32LE(off + len - 4), len)
      off += len
      blocks++
    }
    assert.equal(off, file.length)
    // SHB, IDB, 3 handshake packets, 6 data packets, 3 closing packets.
    assert.equal(blocks, 2 + 3 + 6 + 3)
  })

  test('tshark reads the handshake, the IMAP tags in order and valid checksums', { skip: tsharkSkip }, async () => {
    const file = writePcapng([{ segments: imapSegments(10), startedAt: T0, endedAt: T0 + 7 }], {
      protocol: 'imap',
      client: { address: '::ffff:127.0.0.1', port: 50123 },
      server: { address: '127.0.0.1', port: 143 },
    })
    // One tshark run: flags, IMAP requests, checksum verdicts and TCP analysis per packet.
    const rows = await tsharkFields(
      file,
      '',
      ['tcp.flags.str', 'imap.request_tag', 'imap.request.command', 'tcp.checksum.status', 'ip.checksum.status', 'tcp.analysis.flags'],
      ['-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'],
    )
    assert.equal(rows.length, 12)
    assert.deepEqual(
      rows.filter((r) => r[1]).map((r) => [r[1], r[2]]),
      [
        ['a1', 'LOGIN'],
        ['a2', 'FETCH'],
        ['a3', 'LOGOUT'],
      ],
    )
    assert.ok(rows.every((r) => r[3] === '1' && r[4] === '1'), 'every checksum is good')
    assert.ok(rows.every((r) => !r[5]), 'no TCP analysis warnings (lost segments, retransmissions)')
  })

  test('a body larger than one segment is split and reassembled by tshark', { skip: tsharkSkip }, async () => {
    const size = MAX_SEGMENT_BYTES * 2 + 1234
    const file = writePcapng([{ segments: imapSegments(size), startedAt: T0 }], {
      protocol: 'imap',
      client: { address: '10.1.2.3', port: 40000 },
      server: { address: '10.9.8.7', port: 143 },
    })
    const lens = (await tsharkFields(file, 'tcp.len > 0', ['tcp.len'])).map((r) => Number(r[0]))
    assert.ok(lens.every((l) => l <= MAX_SEGMENT_BYTES), "lens.every((l) => l <= MAX_SEGMENT_BYTES)")
    assert.ok(lens.filter((l) => l === MAX_SEGMENT_BYTES).length >= 2, "lens.filter((l) => l === MAX_SEGMENT_BYTES).length >= 2")
    const responses = await tsharkFields(file, 'imap.response_tag == "a2"', ['imap.response.status'])
    assert.deepEqual(responses, [['OK']])
  })

  test('a non-standard server port is replaced by the standard one and said so in a comment', { skip: tsharkSkip }, async () => {
    const file = writePcapng([{ segments: imapSegments(3), startedAt: T0 }], {
      protocol: 'imap',
      client: { address: '127.0.0.1', port: 50000 },
      server: { address: '127.0.0.1', port: 1143 },
    })
    const ports = new Set((await tsharkFields(file, '', ['tcp.srcport', 'tcp.dstport'])).flat())
    assert.deepEqual([...ports].sort(), ['143', '50000'])
    const comments = await tsharkFields(file, 'frame.comment', ['frame.comment'])
    assert.match(comments[0]![0]!, /real port was 1143/)
  })

  test('peers without an IP address get documentation addresses, IPv6 stays IPv6', { skip: tsharkSkip }, async () => {
    const v6 = writePcapng([{ segments: imapSegments(3), startedAt: T0 }], {
      protocol: 'imap',
      client: { address: '::1', port: 50000 },
      server: { address: 'imported', port: 0 },
    })
    const addrs = await tsharkFields(v6, 'tcp.flags.syn == 1 && tcp.flags.ack == 0', ['ipv6.src', 'ipv6.dst'])
    assert.deepEqual(addrs, [['::1', '2001:db8::2']])
    const none = writePcapng([{ segments: imapSegments(3), startedAt: T0 }], {
      protocol: 'smtp',
      client: { address: 'client', port: 0 },
      server: { address: 'server', port: 0 },
    })
    const v4 = await tsharkFields(none, 'tcp.flags.syn == 1 && tcp.flags.ack == 0', ['ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport'])
    assert.deepEqual(v4, [['192.0.2.1', '192.0.2.2', '49152', '25']])
  })

  test('two connections get two TCP streams with their own client ports', { skip: tsharkSkip }, async () => {
    const file = writePcapng(
      [
        { segments: imapSegments(3).slice(0, 3), startedAt: T0 },
        { segments: imapSegments(3).slice(3), startedAt: T0 + 4, comment: 'second' },
      ],
      { protocol: 'imap', client: { address: '127.0.0.1', port: 50000 }, server: { address: '127.0.0.1', port: 143 } },
    )
    const rows = await tsharkFields(file, '', ['tcp.stream', 'tcp.srcport', 'tcp.flags.syn', 'tcp.flags.ack', 'imap.request_tag'])
    const syns = rows.filter((r) => r[2] === '1' && r[3] === '0').map((r) => [r[0], r[1]])
    assert.deepEqual(syns, [
      ['0', '50000'],
      ['1', '50001'],
    ])
    const tags = rows.filter((r) => r[4]).map((r) => [r[0], r[4]])
    assert.deepEqual(tags, [
      ['0', 'a1'],
      ['1', 'a2'],
      ['1', 'a3'],
    ])
  })
})
