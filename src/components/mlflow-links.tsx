"use client";
// MLflow's client prints links into MLflow's UI, such as
// http://127.0.0.1:3000/#/experiments/3/runs/<run id>: they open the same page here.
import { useRouter } from "next/navigation";
import { useEffect } from "react";

export function MlflowLinks() {
  const router = useRouter();
  useEffect(() => {
    const match = /^#\/experiments\/(\d{1,10})(?:\/runs\/([0-9a-f]{32}))?/.exec(window.location.hash);
    if (match) router.replace(match[2] ? `/runs/${match[2]}` : `/experiments/${match[1]}`);
  }, [router]);
  return null;
}
