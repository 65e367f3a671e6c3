/**
 * Better Auth's SSO plugin over SAML (`@better-auth/sso`) beside fusion-auth, on real Better
 * Auth over PGlite and Postgres. The identity provider is samlify's, in process, signing with a
 * key made for these tests (`fixtures/saml-idp.ts`); its messages reach the app as the browser
 * carries them, with the browser's cookies. A locked-out user's SAML sign-in goes to the error
 * URL and opens no session; a browser holding their cookie can still sign in as someone else;
 * and both logouts — the one the identity provider starts and the one the app starts — end
 * their session, as `/sign-out` does, so a logout made during a lock-out is not undone by its end.
 */
import { assert, it } from "@effect/vitest"
import { sso } from "@better-auth/sso"
import { betterAuth } from "better-auth"
import { admin } from "better-auth/plugins"
import * as saml from "samlify"
import { betterAuthDatabase, createAuthSession, fusionAuth, migrate } from "../src/index.ts"
import { IDP_CERT, IDP_KEY } from "./fixtures/saml-idp.ts"
import { browserOf, lockOutWays, opensSession, quietOptions, signUpAs } from "./support/auth.ts"
import { describeOnBackends, testPool } from "./support/databases.ts"

let people = 0

const IDP = "https://idp.example"
const PROVIDER = "corp-saml"
const SP_ENTITY = "http://localhost:3000/saml/sp"
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
const certBody = IDP_CERT.replace(/-----[A-Z ]+-----|\s/g, "")

const idpMetadata = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${IDP}/metadata">
<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${certBody}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleLogoutService Binding="${REDIRECT}" Location="${IDP}/slo"/>
<md:NameIDFormat>${EMAIL_FORMAT}</md:NameIDFormat>
<md:SingleSignOnService Binding="${REDIRECT}" Location="${IDP}/sso"/>
</md:IDPSSODescriptor>
</md:EntityDescriptor>`

/** A signed response saying the bearer is `email`, unsolicited (IdP-initiated), as `createLoginResponse` fills it. */
const RESPONSE_TEMPLATE =
  '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ID}" Version="2.0" IssueInstant="{IssueInstant}" Destination="{Destination}"><saml:Issuer>{Issuer}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="{AssertionID}" Version="2.0" IssueInstant="{IssueInstant}"><saml:Issuer>{Issuer}</saml:Issuer><saml:Subject><saml:NameID Format="{NameIDFormat}">{NameID}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{NotOnOrAfter}" Recipient="{Destination}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{IssueInstant}" NotOnOrAfter="{NotOnOrAfter}"><saml:AudienceRestriction><saml:Audience>{Audience}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{IssueInstant}" SessionIndex="{SessionIndex}"/></saml:Assertion></samlp:Response>'

const makeWorld = async (url: string) => {
  const pool = testPool(url, 2)
  const auth = betterAuth({
    ...quietOptions(betterAuthDatabase({ url })),
    plugins: [admin(), sso({ domainVerification: { enabled: true }, saml: { enableInResponseToValidation: false, enableSingleLogout: true } }), fusionAuth()] as unknown as [
      ReturnType<typeof fusionAuth>
    ]
  })
  await migrate(auth, { url })
  const app = createAuthSession(auth, { database: { url } })
  const call = browserOf(auth)
  /** A user who signed up with a password and proved the address. */
  const signUp = async () => {
    const made = await signUpAs(call, `saml${++people}@corp.example`)
    await pool.query(`update "user" set "emailVerified" = true where "id" = $1`, [made.userId])
    return made
  }
  const providerId = PROVIDER
  const owner = await signUp()
  const registered = await call("/sso/register", owner.jar, {
    providerId,
    issuer: `${IDP}/metadata`,
    domain: "corp.example",
    samlConfig: {
      entryPoint: `${IDP}/sso`,
      cert: IDP_CERT,
      idpMetadata: { metadata: idpMetadata },
      spMetadata: { entityID: SP_ENTITY },
      identifierFormat: EMAIL_FORMAT,
      callbackUrl: "/done"
    }
  })
  assert.strictEqual(registered.status, 200, JSON.stringify(registered.body))
  // The domain proven the organization's (as its DNS record would): a returning user's SAML account is linked to them.
  await pool.query(`update "ssoProvider" set "domainVerified" = true where "providerId" = $1`, [providerId])
  const acs = `http://localhost:3000/api/auth/sso/saml2/sp/acs/${providerId}`
  const slo = `http://localhost:3000/api/auth/sso/saml2/sp/slo/${providerId}`
  const idp = saml.IdentityProvider({ metadata: idpMetadata, privateKey: IDP_KEY, loginResponseTemplate: { context: RESPONSE_TEMPLATE, attributes: [] } })
  const sp = saml.ServiceProvider({
    entityID: SP_ENTITY,
    assertionConsumerService: [{ Binding: POST, Location: acs }],
    singleLogoutService: [{ Binding: REDIRECT, Location: slo }]
  })
  /** The browser of `jar` brings the identity provider's unsolicited, signed word that it is `email`. */
  const samlSignIn = async (email: string, jar = "") => {
    const response = await idp.createLoginResponse(sp, { extract: {} } as never, "post", { email }, (template: string) => {
      const now = new Date()
      const id = `_${crypto.randomUUID()}`
      return {
        id,
        context: saml.SamlLib.replaceTagsByValue(template, {
          ID: id,
          AssertionID: `_${crypto.randomUUID()}`,
          IssueInstant: now.toISOString(),
          NotOnOrAfter: new Date(now.getTime() + 300_000).toISOString(),
          Destination: acs,
          Issuer: `${IDP}/metadata`,
          Audience: SP_ENTITY,
          NameIDFormat: EMAIL_FORMAT,
          NameID: email,
          SessionIndex: `_s${people}`
        })
      }
    })
    return call(`/sso/saml2/sp/acs/${providerId}`, jar, { SAMLResponse: response.context })
  }
  /** The identity provider ends `email`'s sessions, through the browser of `jar` (HTTP-Redirect binding). */
  const idpLogout = (email: string, jar: string) => {
    const request = idp.createLogoutRequest(sp, "redirect", { email, logoutNameID: email }, "/bye") as { context: string }
    const sent = new URL(request.context)
    return call(`/sso/saml2/sp/slo/${providerId}${sent.search}`, jar)
  }
  const sessions = async (userId: string) => (await pool.query(`select 1 from "session" where "userId" = $1`, [userId])).rowCount
  const close = async () => {
    await app.dispose()
    await pool.end()
  }
  return { app, pool, call, signUp, samlSignIn, idpLogout, sessions, providerId, close }
}

describeOnBackends("Better Auth's SSO plugin over SAML for a locked-out user", makeWorld, (held) => {
  for (const [how, { code, lock, unlock }] of Object.entries(lockOutWays)) {
    it(`${how}: their SAML sign-in goes to the error URL with ${code} and opens no session; once it ends it signs them in`, async () => {
      const w = held.world
      const ada = await w.signUp()
      await lock(w, ada.userId)
      const refused = await w.samlSignIn(ada.email)
      assert.strictEqual(refused.status, 302, JSON.stringify(refused.body))
      assert.strictEqual(new URL(refused.location ?? "", "http://localhost:3000").searchParams.get("error"), code)
      assert.isFalse(opensSession(refused.cookies))
      assert.strictEqual(await w.sessions(ada.userId), 1, "only the sign-up's session")
      await unlock(w, ada.userId)
      const signedIn = await w.samlSignIn(ada.email)
      assert.strictEqual(signedIn.location, "/done", JSON.stringify(signedIn.body))
      assert.isTrue(opensSession(signedIn.cookies))
    })

    it(`${how}: a browser holding their cookie signs in with SAML as someone else`, async () => {
      const w = held.world
      const [ada, bo] = [await w.signUp(), await w.signUp()]
      await lock(w, ada.userId)
      const other = await w.samlSignIn(bo.email, ada.jar)
      assert.strictEqual(other.location, "/done", JSON.stringify(other.body))
      assert.isTrue(opensSession(other.cookies))
      assert.strictEqual(await w.sessions(bo.userId), 2)
    })

    it(`${how}: the identity provider's logout ends their session and answers it; the lock-out's end does not bring it back`, async () => {
      const w = held.world
      const ada = await w.signUp()
      await lock(w, ada.userId)
      const answered = await w.idpLogout(ada.email, ada.jar)
      assert.strictEqual(answered.status, 302, JSON.stringify(answered.body))
      assert.include(answered.location ?? "", `${IDP}/slo?SAMLResponse=`)
      assert.strictEqual(await w.sessions(ada.userId), 0)
      await unlock(w, ada.userId)
      assert.isNull((await w.call("/get-session", ada.jar)).body)
    })

    it(`${how}: /sign-out ends their session with SAML logout on (the SSO plugin reads the session in its own hook there)`, async () => {
      const w = held.world
      const ada = await w.signUp()
      await lock(w, ada.userId)
      const signedOut = await w.call("/sign-out", ada.jar, {})
      assert.strictEqual(signedOut.status, 200, JSON.stringify(signedOut.body))
      assert.strictEqual(await w.sessions(ada.userId), 0)
      await unlock(w, ada.userId)
      assert.isNull((await w.call("/get-session", ada.jar)).body)
    })

    it(`${how}: the app's SAML logout ends their session and sends the browser to the identity provider`, async () => {
      const w = held.world
      const ada = await w.signUp()
      await lock(w, ada.userId)
      const loggedOut = await w.call(`/sso/saml2/logout/${w.providerId}`, ada.jar, { callbackURL: "/bye" })
      assert.strictEqual(loggedOut.status, 302, JSON.stringify(loggedOut.body))
      assert.include(loggedOut.location ?? "", `${IDP}/slo?SAMLRequest=`)
      assert.strictEqual(await w.sessions(ada.userId), 0)
      await unlock(w, ada.userId)
      assert.isNull((await w.call("/get-session", ada.jar)).body)
    })
  }

  it("a user who is not locked out: the identity provider's logout and the app's end the session as Better Auth does", async () => {
    const w = held.world
    const [ada, bo] = [await w.signUp(), await w.signUp()]
    assert.strictEqual((await w.idpLogout(ada.email, ada.jar)).status, 302)
    assert.strictEqual(await w.sessions(ada.userId), 0)
    assert.strictEqual((await w.call(`/sso/saml2/logout/${w.providerId}`, bo.jar, { callbackURL: "/bye" })).status, 302)
    assert.strictEqual(await w.sessions(bo.userId), 0)
  })
})
