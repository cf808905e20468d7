/** Shared by the local simulators: the audience (resource indicator) the IdP puts in access tokens and HCM checks. */
export const HCM_AUDIENCE = 'urn:opc:resource:fusion:hcm';
/** Scope a connection asks for: offline_access is what makes IDCS return a refresh token. */
export const DEFAULT_SCOPE = 'openid offline_access urn:opc:resource:fusion:hcm';
