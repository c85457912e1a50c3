package io.userpulse.flink.redis;

/**
 * CRC16-CCITT (XMODEM variant: polynomial 0x1021, initial value 0, no reflection), the checksum
 * Redis Cluster hashes keys with. Source: Redis Cluster specification, appendix A ("CRC16
 * reference implementation in ANSI C"); check value of "123456789" is 0x31C3.
 */
final class Crc16 {

  private static final int[] TABLE = new int[256];

  static {
    for (int b = 0; b < 256; b++) {
      int crc = b << 8;
      for (int i = 0; i < 8; i++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      TABLE[b] = crc & 0xFFFF;
    }
  }

  private Crc16() {}

  /** The CRC16-XMODEM of {@code bytes[from, to)}, in {@code [0, 65535]}. */
  static int xmodem(byte[] bytes, int from, int to) {
    int crc = 0;
    for (int i = from; i < to; i++) {
      crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ bytes[i]) & 0xFF]) & 0xFFFF;
    }
    return crc;
  }
}
