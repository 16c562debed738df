/** @type {import('next').NextConfig} */
const nextConfig = {
  // Pages and API routes are served by Labbook's own HTTP server (src/server/http), which
  // knows each request's real remote address; see scripts/start.ts.
  poweredByHeader: false,
  compress: false,
  reactStrictMode: true,
  // pg and tfjs (server-side predict) stay plain Node modules on the server.
  serverExternalPackages: ["pg", "@prisma/adapter-pg", "@tensorflow/tfjs", "pngjs", "jpeg-js"],
  devIndicators: false,
};

export default nextConfig;
