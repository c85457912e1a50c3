package io.userpulse.flink.redis;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the PEM files redis-py's {@code ssl_ca_certs} / {@code ssl_certfile} / {@code
 * ssl_keyfile} accept: certificates ({@code CERTIFICATE} blocks, several per file) and an
 * unencrypted private key as PKCS#8 ({@code PRIVATE KEY}: RSA, EC, Ed25519; what
 * {@code tests/integration/test_redis_tls.py} and {@code openssl genpkey} write), PKCS#1
 * ({@code RSA PRIVATE KEY}, {@code openssl genrsa -traditional}) or SEC1 ({@code EC PRIVATE KEY},
 * {@code openssl ecparam -genkey}). The last two are rewrapped as PKCS#8 (RFC 5208 / RFC 5915).
 */
final class PemFiles {

  private static final Pattern BLOCK = Pattern.compile(
      "-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \\1-----", Pattern.DOTALL);
  private static final byte[] RSA_ALG = {  // SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }
      0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01,
      0x01, 0x05, 0x00};
  private static final byte[] EC_OID = {  // OID 1.2.840.10045.2.1 (id-ecPublicKey)
      0x06, 0x07, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x02, 0x01};
  private static final String[] KEY_ALGORITHMS = {"RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS"};

  private PemFiles() {}

  /**
   * The certificates of a PEM file, in file order.
   *
   * @throws RedisStoreException unreadable file, or no valid certificate in it
   */
  static List<X509Certificate> certificates(String path) {
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<X509Certificate> out = new ArrayList<>();
      Matcher m = BLOCK.matcher(read(path));
      while (m.find()) {
        if (m.group(1).equals("CERTIFICATE")) {
          byte[] der = base64(m.group(2));
          out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
        }
      }
      if (out.isEmpty()) {
        throw new RedisStoreException("no CERTIFICATE block in " + path);
      }
      return out;
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new RedisStoreException("bad certificate in " + path + ": " + e.getMessage(), e);
    }
  }

  /**
   * The private key of a PEM file (the first key block in it).
   *
   * @throws RedisStoreException unreadable file, no key block, an encrypted key, or a key of an
   *     unsupported algorithm
   */
  static PrivateKey privateKey(String path) {
    Matcher m = BLOCK.matcher(read(path));
    while (m.find()) {
      String type = m.group(1);
      String body = m.group(2);
      if (type.equals("ENCRYPTED PRIVATE KEY") || body.contains("Proc-Type:")) {
        throw new RedisStoreException("encrypted private keys are not supported: " + path);
      }
      byte[] pkcs8;
      switch (type) {
        case "PRIVATE KEY" -> pkcs8 = base64(body);
        case "RSA PRIVATE KEY" -> pkcs8 = pkcs8(RSA_ALG, base64(body));
        case "EC PRIVATE KEY" -> pkcs8 = ecToPkcs8(base64(body), path);
        default -> {
          continue;
        }
      }
      for (String alg : KEY_ALGORITHMS) {
        try {
          return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
        } catch (GeneralSecurityException e) {
          // not this algorithm: try the next
        }
      }
      throw new RedisStoreException("unsupported private key algorithm in " + path);
    }
    throw new RedisStoreException("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY in " + path);
  }

  private static String read(String path) {
    try {
      return Files.readString(Path.of(path), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new RedisStoreException("cannot read " + path + ": " + e, e);
    }
  }

  private static byte[] base64(String body) {
    return Base64.getMimeDecoder().decode(body.trim());
  }

  /** SEC1 ECPrivateKey -&gt; PKCS#8, the curve OID taken from its [0] parameters. */
  private static byte[] ecToPkcs8(byte[] sec1, String path) {
    // ECPrivateKey ::= SEQUENCE { version INTEGER, privateKey OCTET STRING,
    //                             parameters [0] ECParameters OPTIONAL, publicKey [1] ... }
    int[] seq = header(sec1, 0);
    int p = seq[0];
    int end = seq[0] + seq[1];
    while (p < end) {
      int tag = sec1[p] & 0xff;
      int[] h = header(sec1, p);
      if (tag == 0xa0) {
        int[] oid = header(sec1, h[0]);
        byte[] curve = new byte[oid[0] + oid[1] - h[0]];
        System.arraycopy(sec1, h[0], curve, 0, curve.length);
        return pkcs8(sequence(EC_OID, curve), sec1);
      }
      p = h[0] + h[1];
    }
    throw new RedisStoreException("EC PRIVATE KEY without curve parameters in " + path);
  }

  /** {@code [offset of the content, its length]} of the DER element starting at {@code p}. */
  private static int[] header(byte[] der, int p) {
    int len = der[p + 1] & 0xff;
    int q = p + 2;
    if (len >= 0x80) {
      int n = len & 0x7f;
      len = 0;
      for (int i = 0; i < n; i++) {
        len = (len << 8) | (der[q++] & 0xff);
      }
    }
    return new int[] {q, len};
  }

  /** PrivateKeyInfo ::= SEQUENCE { INTEGER 0, AlgorithmIdentifier, OCTET STRING key }. */
  private static byte[] pkcs8(byte[] algorithm, byte[] key) {
    return sequence(new byte[] {0x02, 0x01, 0x00}, algorithm, element(0x04, key));
  }

  private static byte[] sequence(byte[]... parts) {
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    for (byte[] part : parts) {
      body.writeBytes(part);
    }
    return element(0x30, body.toByteArray());
  }

  private static byte[] element(int tag, byte[] content) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(content.length + 6);
    out.write(tag);
    int n = content.length;
    if (n < 0x80) {
      out.write(n);
    } else {
      int bytes = n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1000000 ? 3 : 4;
      out.write(0x80 | bytes);
      for (int i = bytes - 1; i >= 0; i--) {
        out.write((n >>> (8 * i)) & 0xff);
      }
    }
    out.writeBytes(content);
    return out.toByteArray();
  }
}
