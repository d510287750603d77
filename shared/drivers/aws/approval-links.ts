/**
 * Where approval links point and the key that signs them: the API's URL
 * (`STEPOPS_API_URL`) and the SSM SecureString parameter holding the HMAC key
 * (`STEPOPS_APPROVAL_SECRET_PARAMETER`), read at run time and cached, never logged.
 *
 * IAM: `ssm:GetParameter` on the parameter (and `kms:Decrypt` for its key).
 */
import { ParameterCache } from '../../api/secrets.ts';
import { ssmClient } from './ssm-client.ts';

let cache: ParameterCache | undefined;

/**
 * The link settings of this stage, or undefined when the stage has no approval endpoint.
 *
 * @example
 * const links = await approvalLinkSettings(); // { baseUrl: 'https://…', secret: '…' }
 */
export async function approvalLinkSettings(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ baseUrl: string; secret: string } | undefined> {
  const baseUrl = env.STEPOPS_API_URL;
  const parameter = env.STEPOPS_APPROVAL_SECRET_PARAMETER;
  if (!baseUrl || !parameter) return undefined;
  cache ??= new ParameterCache(ssmClient());
  return { baseUrl, secret: await cache.get(parameter) };
}
