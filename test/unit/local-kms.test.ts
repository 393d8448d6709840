import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTarget } from '../../agent/tuf.js';
import { startLocalKms } from '../../cdk/local/kms.js';
import { addTargets, initRepository, type RoleSigners } from '../../lib/vendor/tuf.js';
import { kmsSigner } from '../../lib/vendor/tuf-signers.js';
import { MemoryMetadata } from '../fixtures/memory-metadata.js';

const credentials = { accessKeyId: 'UPMANLOCALKEY', secretAccessKey: 'local-secret' };
let kms: Awaited<ReturnType<typeof startLocalKms>>;
let client: KMSClient;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'local-kms-'));
  kms = await startLocalKms({ port: 0, region: 'eu-west-1', credentials, dataDir: join(work, 'kms') });
  client = new KMSClient({ endpoint: kms.url, region: 'eu-west-1', credentials });
});
afterAll(async () => {
  client.destroy();
  await kms.stop();
  rmSync(work, { recursive: true, force: true });
});

const newKey = async () =>
  (await client.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' })))
    .KeyMetadata!.KeyId!;

describe('the local KMS', () => {
  it('creates an ECC_NIST_P256 key whose RAW and DIGEST signatures verify with its public key', async () => {
    const keyId = await newKey();
    const { PublicKey } = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    const publicKey = createPublicKey({ key: Buffer.from(PublicKey!), format: 'der', type: 'spki' });
    const message = Buffer.from('canonical bytes');
    const raw = await client.send(
      new SignCommand({
        KeyId: keyId,
        Message: message,
        MessageType: 'RAW',
        SigningAlgorithm: 'ECDSA_SHA_256',
      }),
    );
    expect(verify('sha256', message, publicKey, Buffer.from(raw.Signature!))).toBe(true);
    const big = Buffer.alloc(10_000, 7);
    const signer = await kmsSigner(client, keyId);
    expect(verify('sha256', big, publicKey, await signer.sign(big))).toBe(true);
  });

  it('refuses what AWS refuses: another key spec, an unknown key, a RAW message over 4096 bytes, a bad signature', async () => {
    await expect(
      client.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' })),
    ).rejects.toMatchObject({
      name: 'UnsupportedOperationException',
    });
    await expect(client.send(new GetPublicKeyCommand({ KeyId: 'no-such-key' }))).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    const keyId = await newKey();
    await expect(
      client.send(
        new SignCommand({
          KeyId: keyId,
          Message: Buffer.alloc(4097),
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    const forged = new KMSClient({
      endpoint: kms.url,
      region: 'eu-west-1',
      credentials: { ...credentials, secretAccessKey: 'guessed' },
    });
    await expect(forged.send(new GetPublicKeyCommand({ KeyId: keyId }))).rejects.toMatchObject({
      name: 'InvalidSignatureException',
    });
    forged.destroy();
  });

  it('signs TUF metadata with the same code as in AWS, and the agent accepts it', async () => {
    const signers: RoleSigners = {
      root: [await kmsSigner(client, await newKey())],
      targets: await kmsSigner(client, await newKey()),
      snapshot: await kmsSigner(client, await newKey()),
      timestamp: await kmsSigner(client, await newKey()),
    };
    const store = new MemoryMetadata();
    const files = store.files;
    await initRepository(store, signers);
    // Enough targets that targets.json exceeds KMS's 4096-byte RAW limit: the DIGEST path signs it.
    const targets = Array.from({ length: 40 }, (_, i) => ({
      path: `app/${i}/full.tar.gz`,
      length: i + 1,
      sha256: 'c'.repeat(64),
    }));
    await addTargets(store, signers, targets);
    expect(files.get('targets.json')!.length).toBeGreaterThan(4096);
    const pinned = join(work, 'root.json');
    writeFileSync(pinned, files.get('root.json')!);
    await expect(
      verifyTarget({
        trustDir: join(work, 'trust'),
        pinnedRoot: pinned,
        metadataUrls: Object.fromEntries([...files.keys()].map((n) => [n, `https://s3.test/${n}`])),
        targetPath: 'app/7/full.tar.gz',
        size: 8,
        sha256: 'c'.repeat(64),
        fetchFn: (async (url: string | URL) =>
          new Response(files.get(new URL(String(url)).pathname.slice(1)) ?? '', {
            status: files.has(new URL(String(url)).pathname.slice(1)) ? 200 : 404,
          })) as typeof fetch,
      }),
    ).resolves.toBeUndefined();
  });
});
