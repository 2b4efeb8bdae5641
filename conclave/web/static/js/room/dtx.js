// @ts-check
/**
 * Opus DTX (discontinuous transmission): while a microphone carries no speech, the Opus
 * encoder sends one small comfort-noise frame about every 400 ms instead of one frame every
 * 20 ms. In a meeting most people are silent most of the time, so this removes most audio
 * frames: bandwidth, SFU forwarding and, per frame, the end-to-end encryption on the sender
 * and on every receiver. Every Opus decoder handles it (a gap is filled with comfort noise).
 *
 * Chromium's encoder uses DTX when the *remote* description asks for it (`usedtx=1` in
 * the Opus `a=fmtp` line of the side that receives), which Chromium never writes itself.
 * So each page adds `usedtx=1` to every description from the other side before applying
 * it (call.js for direct calls, sfu.js for Janus's answers): it decides for itself to send
 * DTX, which is what the parameter would ask of it. Not the local description: direct
 * calls set theirs implicitly (perfect negotiation, and the offer prepared on the pre-join
 * screen), and Chromium is phasing out edits of local descriptions ("SDP munging"); a
 * remote description is the page's to give. Janus 1.1 would only echo `usedtx=1` when the
 * publisher's offer has it (its room option `opus_dtx` changes no answer); it forwards
 * DTX frames like any other, and the receivers need nothing. No DOM.
 */

const RTPMAP = /^a=rtpmap:(\d+) opus\/48000(\/\d+)?$/i;
const FMTP = /^a=fmtp:(\d+) (.*)$/;

/**
 * The SDP with `usedtx=1` in the format parameters of every Opus payload type: added to its
 * `a=fmtp` line, or an `a=fmtp` line added after its `a=rtpmap` line. A payload type that
 * already states `usedtx` (either value) is left as it is.
 * @param {string} sdp
 * @returns {string}
 */
export function withOpusDtx(sdp) {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  /** @type {string[][]} */
  const sections = [[]];
  for (const line of sdp.split(eol)) {
    if (line.startsWith("m=")) sections.push([]);
    sections[sections.length - 1].push(line);
  }
  return sections.map(sectionWithDtx).flat().join(eol);
}

/** @param {string[]} lines  one media section (or the session part) */
function sectionWithDtx(lines) {
  const opus = new Set();
  for (const line of lines) {
    const rtpmap = RTPMAP.exec(line);
    if (rtpmap) opus.add(rtpmap[1]);
  }
  if (opus.size === 0) return lines;
  const withFmtp = new Set();
  const out = lines.map((line) => {
    const fmtp = FMTP.exec(line);
    if (!fmtp || !opus.has(fmtp[1])) return line;
    withFmtp.add(fmtp[1]);
    const params = fmtp[2].trim();
    const names = params.split(";").map((p) => p.split("=")[0].trim().toLowerCase());
    if (names.includes("usedtx")) return line;
    const joiner = params === "" || params.endsWith(";") ? "" : ";";
    return `a=fmtp:${fmtp[1]} ${params}${joiner}usedtx=1`;
  });
  return out.flatMap((line) => {
    const rtpmap = RTPMAP.exec(line);
    return rtpmap && !withFmtp.has(rtpmap[1]) ? [line, `a=fmtp:${rtpmap[1]} usedtx=1`] : [line];
  });
}

/**
 * A description from the other side, ready to apply: Opus DTX asked for (see above).
 * (Type and SDP copied by name: an RTCSessionDescription's are not own properties.)
 * @param {RTCSessionDescriptionInit} description
 * @returns {RTCSessionDescriptionInit}
 */
export function askingForDtx(description) {
  return description.sdp ? { type: description.type, sdp: withOpusDtx(description.sdp) } : description;
}
