// The keys that sign release metadata: an AWS KMS asymmetric key (ECC_NIST_P256, ECDSA_SHA_256)
// in AWS, a PEM key file of the same kind locally. Both give TUF's ecdsa-sha2-nistp256 scheme,
// so a client cannot tell, and the private key of a KMS key never leaves KMS. Key files are
// created outside the repository (mode 0600) and never committed.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ecdsaKey, type MetadataSigner } from './tuf.js';

/** Creates a new ECDSA P-256 private key file (PKCS#8 PEM, mode 0600); refuses to overwrite one. */
export async function createKeyFile(file: string): Promise<void> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
}

export async function fileSigner(file: string): Promise<MetadataSigner> {
  const privateKey = createPrivateKey(await readFile(file, 'utf8'));
  const pem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();
  return { key: ecdsaKey(pem), sign: async (data) => sign('sha256', data, privateKey) };
}

export async function kmsSigner(kms: KMSClient, keyId: string): Promise<MetadataSigner> {
  const { PublicKey, KeySpec } = await kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (!PublicKey || KeySpec !== 'ECC_NIST_P256') {
    throw new Error(`KMS key ${keyId} is not an ECC_NIST_P256 signing key (it is ${KeySpec ?? 'unknown'})`);
  }
  const pem = createPublicKey({ key: Buffer.from(PublicKey), format: 'der', type: 'spki' })
    .export({ type: 'spki', format: 'pem' })
    .toString();
  return {
    key: ecdsaKey(pem),
    sign: async (data) => {
      // KMS hashes RAW messages up to 4 KiB itself; longer ones are hashed here (DIGEST).
      const digest = data.length > 4096;
      const message = digest ? createHash('sha256').update(data).digest() : data;
      const { Signature } = await kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: message,
          MessageType: digest ? 'DIGEST' : 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      if (!Signature) throw new Error(`KMS did not sign with ${keyId}`);
      return Buffer.from(Signature);
    },
  };
}
